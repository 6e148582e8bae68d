import { createHash } from 'node:crypto';
import type { Analyzer } from '../config/project.ts';

/**
 * What identifies a candidate's runs: the analyzer as recount validated it (SQL, keys, files, checks, grain,
 * inputs, ...), so an edit to the file — or to a helper it imports — is a different definition; its memory,
 * threads and retention are not part of it.
 */
export function shadowDefinitionHash(a: Analyzer): string {
  // Where it came from and how much memory or how many threads it gets do not change its output.
  const {
    file: _file,
    memoryBytes: _m,
    threadCount: _t,
    versionsToKeep: _v,
    memory: _mem,
    threads: _th,
    keepVersions: _k,
    engineChoice,
    engine,
    ...definition
  } = a;
  // The engine is part of it, but not where its server is: RECOUNT_SPARK_REMOTE may point elsewhere on each run.
  // (On DuckDB the fields are as they always were, so namespaces made before this keep their identity.)
  const rest =
    engineChoice.name === 'spark'
      ? { ...definition, engineChoice: { name: 'spark', conf: engineChoice.conf } }
      : { ...definition, engine, engineChoice };
  // Keys sorted at every level, so the hash does not depend on the order fields were written in.
  const stable = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(stable)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([x], [y]) => x.localeCompare(y))
              .map(([k, x]) => [k, stable(x)]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(stable(rest)))
    .digest('hex');
}

/**
 * Default namespace name: the candidate file's name without its extension; without a candidate, the analyzer's
 * name; either followed by `-<engine>` when it runs on an engine named on the command line.
 */
export function defaultShadowName(definitionFile: string | undefined, analyzer = 'shadow', engine?: string): string {
  const base = definitionFile ? (definitionFile.split(/[\\/]/).at(-1) ?? 'shadow') : analyzer;
  const name = base.replace(/\.(ts|mts|js|mjs)$/, '').replace(/[^A-Za-z0-9_.-]/g, '_');
  return engine ? `${name}-${engine}` : name;
}
