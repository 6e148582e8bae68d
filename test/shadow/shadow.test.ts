import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { OutputLayout } from '../../src/commit/paths.ts';
import { lit } from '../../src/engine/sql.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import { runShadow } from '../../src/shadow/runShadow.ts';
import { listShadows } from '../../src/shadow/namespace.ts';
import { DEFAULT_TOLERANCE } from '../../src/diff/tolerance.ts';
import { duck, makeProject, REPO, type TestProject } from '../helpers/project.ts';

// A shadow run replays production inputs through a changed analyzer into its own namespace and diffs every
// partition against production. The candidate here drops ad 7, bumps ad 8's counts by one and renumbers
// ad 9, so each partition must show: removed = keys of ads 7 and 9, added = keys of ad 9, changed = keys of ad 8.

const H = 'ad_impressions_hourly';
const PARTS = ['2023-10-12T00', '2023-10-12T01'];

const CANDIDATE = `import { defineAnalyzer } from 'recount';

export default defineAnalyzer({
  name: 'ad_impressions_hourly',
  inputs: ['events'],
  grain: 'hour',
  sql: \`
    SELECT CASE WHEN ad_id = 9 THEN ad_id + 100000 ELSE ad_id END AS ad_id, user_segment,
           CASE WHEN ad_id = 8 THEN impression_count + 1 ELSE impression_count END AS impression_count,
           total_bid
    FROM (SELECT ad_id, user_segment, count(*) AS impression_count, sum(bid_price) AS total_bid
          FROM events WHERE event_type = 'impression' AND ad_id <> 7 GROUP BY ad_id, user_segment)\`,
  keys: ['ad_id', 'user_segment'],
  files: 4,
  // A shadow never loads the warehouse, whatever the candidate says.
  load: { table: 'must_never_be_loaded' },
});
`;

/** What production holds right now: published version, link target and every version row, per partition. */
async function productionSnapshot(tp: TestProject) {
  const ctx = await tp.open();
  try {
    const layout = new OutputLayout(ctx.project.outputRoot);
    const out: Record<string, unknown> = {};
    for (const p of PARTS) {
      out[p] = {
        link: readlinkSync(layout.publishedPath(H, p)),
        versions: (await ctx.store.listVersions(H, p)).map((v) => [v.seq, v.status, v.dir]),
        attempts: (await ctx.store.listAttempts({ analyzer: H, partitionId: p })).length,
      };
    }
    out.loads = await ctx.store.loads.list();
    const wh = statSync(join(tp.dir, '.recount/warehouse.duckdb'));
    out.warehouseFile = [wh.size, wh.mtimeMs];
    return out;
  } finally {
    await ctx.close();
  }
}

describe('recount shadow', () => {
  let tp: TestProject;
  const expected = new Map<string, { added: number; removed: number; changed: number; unchanged: number }>();
  beforeAll(async () => {
    tp = await makeProject({ hours: 2, rowsPerHour: 3000 });
    mkdirSync(join(tp.dir, 'candidates'));
    writeFileSync(join(tp.dir, 'candidates/hourly_v2.ts'), CANDIDATE);
    copyFileSync(
      join(REPO, 'examples/ad-tech/analyzers/ad_impressions_hourly.ts'),
      join(tp.dir, 'candidates/hourly_same.ts'),
    );
    const ctx = await tp.open();
    try {
      for (const p of PARTS)
        expect((await runPartition(ctx, ctx.project.analyzers.get(H)!, p)).status).toBe('succeeded');
      // Expected counts, read independently from production's published files.
      for (const p of PARTS) {
        const path = new OutputLayout(ctx.project.outputRoot).publishedPath(H, p);
        const [r] = await duck<Record<string, string>>(
          `SELECT count(*) FILTER (WHERE ad_id IN (7, 9)) AS removed, count(*) FILTER (WHERE ad_id = 9) AS added,
                  count(*) FILTER (WHERE ad_id = 8) AS changed, count(*) FILTER (WHERE ad_id NOT IN (7, 8, 9)) AS unchanged
           FROM read_parquet(${lit(join(path, '*.parquet'))})`,
        );
        expected.set(p, {
          added: Number(r!.added),
          removed: Number(r!.removed),
          changed: Number(r!.changed),
          unchanged: Number(r!.unchanged),
        });
        expect(Number(r!.changed)).toBeGreaterThan(0);
        expect(Number(r!.added)).toBeGreaterThan(0);
      }
    } finally {
      await ctx.close();
    }
  });
  afterAll(() => tp.cleanup());

  it('reports the added, removed and changed keys of each partition and the total, without touching production (exit 1)', async () => {
    const before = await productionSnapshot(tp);
    const r = tp.cli([
      '--json',
      'shadow',
      H,
      '--definition',
      join(tp.dir, 'candidates/hourly_v2.ts'),
      '--from',
      PARTS[0]!,
      '--to',
      PARTS[1]!,
      '--name',
      'cand',
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.partitions.map((p: { partition: string }) => p.partition)).toEqual(PARTS);
    for (const p of r.json.partitions) {
      expect({ added: p.added, removed: p.removed, changed: p.changed, unchanged: p.unchanged }, p.partition).toEqual(
        expected.get(p.partition),
      );
      expect(p).toMatchObject({ status: 'compared', productionVersion: 1, shadowVersion: 1, differs: true });
      expect(p.diff.columns.find((c: { column: string }) => c.column === 'impression_count').changed).toBe(
        expected.get(p.partition)!.changed,
      );
      expect(p.diff.columns.find((c: { column: string }) => c.column === 'total_bid').changed).toBe(0);
    }
    const sum = (k: 'added' | 'removed' | 'changed') => [...expected.values()].reduce((s, e) => s + e[k], 0);
    expect(r.json.totals).toMatchObject({
      partitions: 2,
      compared: 2,
      failed: 0,
      differing: 2,
      added: sum('added'),
      removed: sum('removed'),
      changed: sum('changed'),
    });

    // Production is exactly as it was: same links, versions, attempts and loads; its warehouse file untouched.
    expect(await productionSnapshot(tp)).toEqual(before);
    // The shadow lives under .recount/shadow/<name>, with its own state and its own published links.
    const ns = join(tp.dir, 'data/out/.recount/shadow/cand');
    expect(r.json.namespace).toBe(ns);
    expect(existsSync(join(ns, 'state.db'))).toBe(true);
    expect(lstatSync(join(ns, 'out', H, 'dt=2023-10-12/hour=00')).isSymbolicLink()).toBe(true);
    // The candidate's load target was dropped: the namespace loaded nothing anywhere.
    expect(existsSync(join(ns, 'warehouse.duckdb'))).toBe(false);
    const nsState = new Database(join(ns, 'state.db'), { readonly: true });
    try {
      expect(nsState.prepare('SELECT count(*) AS n FROM loads').get()).toEqual({ n: 0 });
      expect(nsState.prepare("SELECT count(*) AS n FROM attempts WHERE status = 'succeeded'").get()).toEqual({ n: 2 });
    } finally {
      nsState.close();
    }
  });

  it('an unchanged definition shows every key unchanged', async () => {
    const ctx = await tp.open();
    try {
      const report = await runShadow(ctx, {
        analyzer: H,
        definitionFile: join(tp.dir, 'candidates/hourly_same.ts'),
        from: PARTS[0]!,
        to: PARTS[1]!,
        tolerance: DEFAULT_TOLERANCE,
      });
      expect(report.name).toBe('hourly_same');
      expect(report.differs).toBe(false);
      for (const p of report.partitions) {
        const e = expected.get(p.partition)!;
        expect([p.added, p.removed, p.changed, p.unchanged]).toEqual([0, 0, 0, e.removed + e.changed + e.unchanged]);
      }
      expect(listShadows(new OutputLayout(ctx.project.outputRoot)).map((l) => [l.ns.name, l.meta?.partitions])).toEqual(
        [
          ['cand', PARTS],
          ['hourly_same', PARTS],
        ],
      );
    } finally {
      await ctx.close();
    }
  });

  it('--drop removes a namespace and everything in it', () => {
    const r = tp.cli(['--json', 'shadow', '--drop', 'cand']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toEqual({ ok: true, dropped: 'cand' });
    expect(existsSync(join(tp.dir, 'data/out/.recount/shadow/cand'))).toBe(false);
    expect(existsSync(join(tp.dir, 'data/out/.recount/shadow/hourly_same'))).toBe(true);
  });
});
