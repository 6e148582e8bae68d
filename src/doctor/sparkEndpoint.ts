import type { Project } from '../config/project.ts';
import { asRecountError } from '../errors.ts';
import { redactRemote, SparkConnectClient } from '../engine/spark/connect/index.ts';
import type { Finding } from './finding.ts';

/**
 * Every Spark Connect endpoint the project's analyzers run on: does it answer, and with which Spark? An endpoint
 * that does not is a problem naming the analyzers that would fail on it.
 */
export async function checkSparkEndpoints(project: Project, timeoutMs = 15_000): Promise<Finding[]> {
  const byRemote = new Map<string, string[]>();
  for (const a of project.analyzers.values()) {
    if (a.engineChoice.name !== 'spark') continue;
    byRemote.set(a.engineChoice.remote, [...(byRemote.get(a.engineChoice.remote) ?? []), a.name]);
  }
  const findings: Finding[] = [];
  for (const [remote, analyzers] of byRemote) {
    const shown = redactRemote(remote);
    const client = SparkConnectClient.connect(remote, { unaryTimeoutMs: timeoutMs });
    try {
      const version = await client.sparkVersion();
      findings.push({
        check: 'spark-endpoint',
        status: 'ok',
        subject: shown,
        message: `Spark Connect ${shown} answers: Spark ${version} (for ${analyzers.join(', ')})`,
        details: { version, analyzers },
      });
    } catch (err) {
      const e = asRecountError(err);
      findings.push({
        check: 'spark-endpoint',
        status: 'problem',
        subject: shown,
        message: `Spark Connect ${shown} (for ${analyzers.join(', ')}): ${e.message}`,
        hint: e.hint,
        details: { code: e.code, analyzers },
      });
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  return findings;
}
