import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Engine } from '../engine/engine.ts';
import type { StateStore } from '../state/store.ts';
import { diffRelations, type DiffReport } from './diffRelations.ts';
import type { Tolerance } from './tolerance.ts';
import { chooseVersions, openVersion, type DiffBasis } from './versionFiles.ts';

/** Resources a diff runs with: a small DuckDB session that spills to the project's spill folder. */
export interface DiffEngine {
  readonly engine: Engine;
  readonly spillDir: string;
  readonly memoryBytes?: number;
}

/** Run `fn` in a fresh DuckDB session for diffing, removing its spill folder afterwards. */
export async function withDiffSession<T>(
  env: DiffEngine,
  fn: (session: Awaited<ReturnType<Engine['open']>>) => Promise<T>,
): Promise<T> {
  const spillDir = join(env.spillDir, `diff-${randomBytes(4).toString('hex')}`);
  const session = await env.engine.open({ memoryBytes: env.memoryBytes ?? 1_000_000_000, threads: 2, spillDir });
  try {
    return await fn(session);
  } finally {
    session.close();
    rmSync(spillDir, { recursive: true, force: true });
  }
}

/** Diff two kept versions of one partition (default: the one published before the published one, and the published one). */
export async function diffVersions(
  store: StateStore,
  env: DiffEngine,
  analyzer: string,
  partitionId: string,
  opts: { from?: number; to?: number; tolerance: Tolerance; samples?: number },
): Promise<DiffReport & { versions: { from: number; to: number }; basis: DiffBasis }> {
  const chosen = await chooseVersions(store, analyzer, partitionId, opts);
  const from = await openVersion(store, analyzer, partitionId, chosen.from);
  const to = await openVersion(store, analyzer, partitionId, chosen.to);
  const report = await withDiffSession(env, (session) =>
    diffRelations(
      session,
      { label: `v${from.seq}`, files: from.files, schema: from.manifest.schema },
      { label: `v${to.seq}`, files: to.files, schema: to.manifest.schema },
      { keys: to.manifest.keys, tolerance: opts.tolerance, samples: opts.samples },
    ),
  );
  return { ...report, versions: { from: chosen.from, to: chosen.to }, basis: chosen.basis };
}
