import { resolveEngine, type Analyzer, type EngineChoice, type Project } from '../config/project.ts';
import { redactRemote, SparkConnectClient } from '../engine/spark/connect/index.ts';
import { asRecountError, RecountError } from '../errors.ts';

/** The engines an analyzer can be moved between. */
export const ENGINE_NAMES = ['duckdb', 'spark'] as const;

/** One of ENGINE_NAMES. */
export type EngineName = (typeof ENGINE_NAMES)[number];

/** Parse an engine name given to `option` (a USAGE error naming the engines there are for any other). */
export function parseEngineName(value: string, option: string): EngineName {
  const name = value.trim().toLowerCase();
  if ((ENGINE_NAMES as readonly string[]).includes(name)) return name as EngineName;
  throw new RecountError('USAGE', `${option} ${value}: unknown engine '${value.trim()}'`, {
    subject: option,
    hint: `name one of: ${ENGINE_NAMES.join(', ')}`,
  });
}

/** Parse `--engines a,b`: two or more different known engines (USAGE errors otherwise). */
export function parseEngineList(value: string, option = '--engines'): EngineName[] {
  const names = [
    ...new Set(
      value
        .split(',')
        .filter((v) => v.trim() !== '')
        .map((v) => parseEngineName(v, option)),
    ),
  ];
  if (names.length < 2) {
    throw new RecountError('USAGE', `${option} ${value}: names ${names.length} engine(s); comparing needs two`, {
      subject: option,
      hint: `name two engines to compare, e.g. ${option} ${ENGINE_NAMES.join(',')}`,
    });
  }
  return names;
}

/**
 * The engine `name` for an analyzer: DuckDB embedded, or Spark at the remote its own engine, else the project's,
 * configures (RECOUNT_SPARK_REMOTE replacing it), else at RECOUNT_SPARK_REMOTE; a CONFIG_INVALID error naming both
 * when neither says where Spark is.
 */
export function engineChoiceFor(
  project: Project,
  analyzer: Analyzer,
  name: EngineName,
  env: NodeJS.ProcessEnv = process.env,
): EngineChoice {
  if (name === 'duckdb') return { name: 'duckdb' };
  if (analyzer.engineChoice.name === 'spark') return analyzer.engineChoice;
  if (project.config.engine !== 'duckdb') return resolveEngine(project.config.engine, env);
  if (env.RECOUNT_SPARK_REMOTE) return { name: 'spark', remote: env.RECOUNT_SPARK_REMOTE, conf: {} };
  throw new RecountError('CONFIG_INVALID', `no Spark Connect server is configured to run ${analyzer.name} on Spark`, {
    subject: 'engine.spark.remote',
    hint: `set engine: { spark: { remote: 'sc://host:15002' } } in ${project.configFile}, or RECOUNT_SPARK_REMOTE=sc://host:15002`,
  });
}

/**
 * Ask a Spark engine's server for its version before anything runs, so an unreachable one is one clear error
 * naming the endpoint, not a failure per partition; DuckDB is always there.
 */
export async function assertEngineReachable(choice: EngineChoice, timeoutMs = 20_000): Promise<void> {
  if (choice.name !== 'spark') return;
  const client = SparkConnectClient.connect(choice.remote, { unaryTimeoutMs: timeoutMs });
  try {
    await client.sparkVersion();
  } catch (err) {
    const e = asRecountError(err);
    const shown = redactRemote(choice.remote);
    throw new RecountError(e.code, e.message.includes(shown) ? e.message : `Spark Connect ${shown}: ${e.message}`, {
      subject: e.subject ?? shown,
      hint:
        e.hint ??
        `start the Spark Connect server at ${shown}, or point engine.spark.remote or RECOUNT_SPARK_REMOTE at one`,
      details: e.details,
      cause: err,
    });
  } finally {
    await client.close().catch(() => undefined);
  }
}
