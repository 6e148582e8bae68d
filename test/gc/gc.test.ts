import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutputLayout } from '../../src/commit/paths.ts';
import { rollbackPartition } from '../../src/commit/rollback.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import { runGc } from '../../src/gc/runGc.ts';
import { shadowNamespace, touchMeta } from '../../src/shadow/namespace.ts';
import { makeProject, readPublished, type TestProject } from '../helpers/project.ts';

// Retention: versions beyond K per partition go, the published version and the one the warehouse holds
// never do; shadow namespaces, kept audit runs and staging go once older than their configured age.

const A = 'gc_counts';
const P = '2023-10-12T00';
const CONFIG = `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  keepVersions: 10,
  gc: { shadowMaxAge: '7d', auditMaxAge: '1h', stagingMaxAge: '1h' },
});
`;
const ANALYZER = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: '${A}', inputs: ['events'], grain: 'hour', sql: 'SELECT ad_id, count(*) AS n FROM events GROUP BY ad_id', files: 2 });
`;

const HOUR = 3_600_000;
const age = (path: string, ms: number) => utimesSync(path, new Date(Date.now() - ms), new Date(Date.now() - ms));

describe('recount gc', () => {
  let tp: TestProject;
  let layout: OutputLayout;
  const dirs = new Map<number, string>();
  const paths: Record<string, string> = {};
  beforeAll(async () => {
    tp = await makeProject({
      hours: 1,
      rowsPerHour: 1000,
      examples: false,
      config: CONFIG,
      analyzers: { [A]: ANALYZER },
    });
    const ctx = await tp.open();
    try {
      layout = new OutputLayout(ctx.project.outputRoot);
      const a = ctx.project.analyzers.get(A)!;
      for (let i = 0; i < 5; i++) expect((await runPartition(ctx, a, P)).status).toBe('succeeded');
      for (const v of await ctx.store.listVersions(A, P)) dirs.set(v.seq, v.dir);
      // v3 is what the warehouse holds; then v2 is published again by a rollback.
      await ctx.store.loads.begin({ analyzer: A, partitionId: P, versionSeq: 3, table: A });
      await ctx.store.loads.finish(A, P, 3, { status: 'loaded', rows: 10, checksum: 'x' });
      await rollbackPartition(ctx.store, layout, A, P, 2);
      // Staging of attempts recorded as running on another machine: two hours old, its process's lease long
      // expired (that machine died); and fresh, its process beating its lease.
      await ctx.store.leases.beat('another-host', '1:1', 1, 2 * HOUR);
      await ctx.store.leases.beat('another-host', '2:2', 2);
      for (const [id, ms, token] of [
        ['remote-old', 2 * HOUR, '1:1'],
        ['remote-new', 0, '2:2'],
      ] as const) {
        await ctx.store.beginAttempt({
          runId: id,
          attemptId: id,
          analyzer: A,
          partitionId: P,
          trigger: 'run',
          pid: 1,
          host: 'another-host',
          procToken: token,
          threads: 1,
          memoryBytes: 1,
          stagingDir: layout.stagingDir(id),
        });
        mkdirSync(layout.stagingDir(id), { recursive: true });
        writeFileSync(join(layout.stagingDir(id), 'part-00000.parquet'), 'x');
        age(layout.stagingDir(id), ms);
        paths[id] = layout.stagingDir(id);
      }
      // Shadow namespaces last used 8 days ago and now; audit runs kept 2 hours ago and just now.
      touchMeta(
        shadowNamespace(layout, 'old-shadow'),
        { analyzer: A, definition: 'x.ts', partitions: [P] },
        new Date(Date.now() - 8 * 24 * HOUR),
      );
      touchMeta(shadowNamespace(layout, 'new-shadow'), { analyzer: A, definition: 'x.ts', partitions: [P] });
      for (const [name, ms] of [
        ['old-audit', 2 * HOUR],
        ['new-audit', 0],
      ] as const) {
        paths[name] = join(layout.internal, 'audit', name);
        mkdirSync(paths[name]!, { recursive: true });
        age(paths[name]!, ms);
      }
    } finally {
      await ctx.close();
    }
  });
  afterAll(() => tp.cleanup());

  it('--dry-run lists what would go and removes nothing', async () => {
    const ctx = await tp.open();
    try {
      const r = await runGc({ ...ctx, layout }, { keep: 1, dryRun: true });
      expect(r.removed.filter((i) => i.kind === 'version').map((i) => (i as { version: number }).version)).toEqual([
        5, 4, 1,
      ]);
      expect(
        r.removed
          .filter((i) => i.kind !== 'version')
          .map((i) => [i.kind, i.dir])
          .sort(),
      ).toEqual(
        [
          ['audit', paths['old-audit']],
          ['shadow', shadowNamespace(layout, 'old-shadow').dir],
          ['staging', paths['remote-old']],
        ].sort(),
      );
      expect(r.protected).toEqual([
        { analyzer: A, partition: P, version: 3, why: 'loaded in the warehouse' },
        { analyzer: A, partition: P, version: 2, why: 'published' },
      ]);
      expect(r.freedBytes).toBeGreaterThan(0);
      for (const d of dirs.values()) expect(existsSync(d)).toBe(true);
      // With the configured keepVersions (10), no version is beyond K.
      expect((await runGc({ ...ctx, layout }, { dryRun: true })).removed.filter((i) => i.kind === 'version')).toEqual(
        [],
      );
    } finally {
      await ctx.close();
    }
  });

  it('removes versions beyond K but never the published or the loaded one; old shadows, audits and staging go, fresh ones stay', async () => {
    const r = tp.cli(['--json', 'gc', '--keep', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.dryRun).toBe(false);
    // The dead machine's staging goes with the recovery gc runs first (its owner's lease expired), whatever its age.
    expect(r.json.removed.map((i: { kind: string; version?: number }) => i.version ?? i.kind).sort()).toEqual(
      [1, 4, 5, 'audit', 'shadow'].sort(),
    );
    for (const seq of [1, 4, 5]) expect(existsSync(dirs.get(seq)!), `v${seq}`).toBe(false);
    for (const seq of [2, 3]) expect(existsSync(dirs.get(seq)!), `v${seq}`).toBe(true);
    expect(existsSync(paths['remote-old']!)).toBe(false);
    expect(existsSync(paths['remote-new']!)).toBe(true);
    expect(existsSync(paths['old-audit']!)).toBe(false);
    expect(existsSync(paths['new-audit']!)).toBe(true);
    expect(existsSync(shadowNamespace(layout, 'old-shadow').dir)).toBe(false);
    expect(existsSync(shadowNamespace(layout, 'new-shadow').dir)).toBe(true);

    const ctx = await tp.open();
    try {
      expect((await ctx.store.listVersions(A, P)).map((v) => [v.seq, v.status])).toEqual([
        [5, 'deleted'],
        [4, 'deleted'],
        [3, 'retained'],
        [2, 'published'],
        [1, 'deleted'],
      ]);
      // The published version still reads; the loaded one can still be published again.
      expect((await readPublished(layout.publishedPath(A, P), ['ad_id'])).length).toBeGreaterThan(0);
      expect(await rollbackPartition(ctx.store, layout, A, P, 3)).toEqual({ from: 2, to: 3 });
      // Nothing is left to remove at K = 2 now: v3 (published) and v2 are the newest two.
      expect((await runGc({ ...ctx, layout }, { keep: 2 })).removed).toEqual([]);
    } finally {
      await ctx.close();
    }
  });
});
