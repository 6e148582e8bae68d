// The Spark side of recovering a dead attempt: its process died (SIGKILL, the machine) while its Spark job ran, and
// nothing tells Spark its client is gone, so the job runs on and its write can make the attempt's staging folder
// again after recovery removed it. Recovery interrupts the job first, in the attempt's own session.
import { asRecountError } from '../../errors.ts';
import { endpointOf, parseRemote, SparkConnectClient, type Remote } from './connect/index.ts';
import { attemptSessionId } from './attemptSession.ts';
import { sessionJobsEnded, sparkUiOf, UI_CONF_KEYS } from './sparkUi.ts';

/** A dead attempt and the Spark Connect remote its analyzer runs on. */
export interface DeadSparkAttempt {
  readonly attemptId: string;
  readonly remote: string;
}

/** How long recovery waits for a Spark Connect server to answer before it warns and goes on. */
const INTERRUPT_TIMEOUT_MS = 5_000;
/** How long recovery waits for the tasks of interrupted jobs to die before it removes their staging anyway. */
const TASKS_END_TIMEOUT_MS = 20_000;

/**
 * The interrupt cancelled the attempt's jobs; their tasks die on the executors a moment later, and a dying write task
 * can still make files in the staging folder recovery is about to remove. Wait for them (the driver's REST API).
 */
async function waitForTasks(
  client: SparkConnectClient,
  attemptId: string,
  endpoint: string,
  warn: (m: string) => void,
) {
  const ui = sparkUiOf(client.remote.host, await client.getConf(UI_CONF_KEYS));
  const ended = ui ? await sessionJobsEnded(ui, attemptSessionId(attemptId), TASKS_END_TIMEOUT_MS) : false;
  if (!ended)
    warn(
      `the interrupted Spark jobs of dead attempt ${attemptId} on ${endpoint} were not seen to end (${ui ? 'still running' : 'the Spark UI is off'}); a task of them still running may write into its staging after it is removed`,
    );
}

/**
 * Interrupt every operation of each dead attempt's session (their Spark jobs are cancelled) and release the
 * session. Returns the attempts that had operations running. Never throws: a server that cannot be reached is one
 * warning naming it, and its other attempts are skipped (their staging is never published either way, I7).
 */
export async function interruptDeadSparkAttempts(
  attempts: readonly DeadSparkAttempt[],
  warn: (message: string) => void,
): Promise<string[]> {
  const byRemote = new Map<string, string[]>();
  for (const a of attempts) byRemote.set(a.remote, [...(byRemote.get(a.remote) ?? []), a.attemptId]);
  const done = await Promise.all([...byRemote].map(([remote, ids]) => interruptOn(remote, ids, warn)));
  return done.flat();
}

async function interruptOn(text: string, ids: readonly string[], warn: (message: string) => void): Promise<string[]> {
  let remote: Remote;
  try {
    remote = parseRemote(text);
  } catch (err) {
    warn(`the Spark jobs of dead attempt(s) ${ids.join(', ')} were not interrupted: ${asRecountError(err).message}`);
    return [];
  }
  const endpoint = endpointOf(remote);
  if (remote.sessionId) {
    warn(
      `the Spark jobs of dead attempt(s) ${ids.join(', ')} on ${endpoint} were not interrupted: the remote fixes session_id, so they ran in a shared session`,
    );
    return [];
  }
  const interrupted: string[] = [];
  for (const id of ids) {
    const client = SparkConnectClient.connect({ ...remote, sessionId: attemptSessionId(id) });
    try {
      const ops = await client.interrupt('all', { timeoutMs: INTERRUPT_TIMEOUT_MS });
      if (ops.length > 0) {
        interrupted.push(id);
        await waitForTasks(client, id, endpoint, warn);
      }
    } catch (err) {
      warn(
        `could not interrupt the Spark jobs of dead attempt ${id} on ${endpoint}: ${asRecountError(err).message}; its staging is removed anyway (never published), and a job of it still running may write there again until it ends`,
      );
      return interrupted;
    } finally {
      await client.close();
    }
  }
  return interrupted;
}
