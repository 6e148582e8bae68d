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
    ...rest
  } = a;
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

/** Default namespace name: the candidate file's name without its extension. */
export function defaultShadowName(definitionFile: string): string {
  const base = definitionFile.split(/[\\/]/).at(-1) ?? 'shadow';
  return base.replace(/\.(ts|mts|js|mjs)$/, '').replace(/[^A-Za-z0-9_.-]/g, '_');
}
