import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAudit, type AuditReport } from '../../src/audit/runAudit.ts';
import { DEFAULT_TOLERANCE } from '../../src/diff/tolerance.ts';
import { lit } from '../../src/engine/sql.ts';
import type { Manifest } from '../../src/commit/manifest.ts';
import { duck, makeProject, type TestProject } from '../helpers/project.ts';

// An audit runs one partition several times with different thread counts in a scratch namespace and says
// which columns differ between runs, how many keys moved file (I3: none may) and which files are
// byte-identical. What it reports is checked here against the kept runs, read independently.

const H = 'ad_impressions_hourly';
const P = '2023-10-12T00';

const RANDOM = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'audit_random', inputs: ['events'], grain: 'hour',
  sql: 'SELECT ad_id, count(*) AS n, random() AS r FROM events GROUP BY ad_id', files: 2 });
`;

/** Per column, whether any key's value differs between the first kept run and another; and keys whose file differs. */
async function truth(versionDirs: string[], keys: string[], columns: string[]) {
  const side = (dir: string) =>
    `SELECT *, regexp_extract(parse_filename(__f), '^(part-\\d+)', 1) AS __file FROM read_parquet(${lit(join(dir, '*.parquet'))}, filename = '__f')`;
  const on = keys.map((k) => `a.${k} = b.${k}`).join(' AND ');
  const varying = new Set<string>();
  let moved = 0;
  for (const other of versionDirs.slice(1)) {
    const [r] = await duck<Record<string, string>>(
      `SELECT ${columns.map((c) => `count(*) FILTER (WHERE a.${c} IS DISTINCT FROM b.${c}) AS ${c}`).join(', ')}, count(*) FILTER (WHERE a.__file <> b.__file) AS moved
       FROM (${side(versionDirs[0]!)}) a JOIN (${side(other)}) b ON ${on}`,
    );
    for (const c of columns) if (Number(r![c]) > 0) varying.add(c);
    moved = Math.max(moved, Number(r!.moved));
  }
  return { varying: [...varying].sort(), moved };
}

describe('recount audit', () => {
  let tp: TestProject;
  beforeAll(async () => {
    // Enough events for several row groups, so threads really split the float sums.
    tp = await makeProject({ hours: 1, rowsPerHour: 300_000, analyzers: { audit_random: RANDOM } });
  });
  afterAll(() => tp.cleanup());

  it('on the float-summing example: reports exactly the columns that differ between runs, and no key moves', async () => {
    const ctx = await tp.open();
    let r: AuditReport;
    try {
      r = await runAudit(ctx, { analyzer: H, partition: P, runs: 3, tolerance: DEFAULT_TOLERANCE, keep: true });
    } finally {
      await ctx.close();
    }
    expect(r.runs.map((x) => [x.threads, x.status])).toEqual([
      [1, 'succeeded'],
      [2, 'succeeded'],
      [4, 'succeeded'],
    ]);
    const versions = join(r.scratch!, 'out/.recount/versions', H, P);
    const dirs = readdirSync(versions)
      .sort()
      .map((v) => join(versions, v));
    expect(dirs).toHaveLength(3);
    // Each kept run really ran with the thread count the report gives it (an audit that ignored them would look stable).
    expect(
      dirs.map((d) => (JSON.parse(readFileSync(join(d, '_manifest.json'), 'utf8')) as Manifest).provenance.threads),
    ).toEqual([1, 2, 4]);
    const t = await truth(dirs, ['ad_id', 'user_segment'], ['impression_count', 'total_bid']);
    // The report says what the files say.
    expect(r.varyingColumns.sort()).toEqual(t.varying);
    // And what the files say here, on 300k events split over 1, 2 and 4 threads: the DOUBLE sums change in their
    // last bits between thread counts (the order of additions changes), the counts never do.
    expect(t.varying).toEqual(['total_bid']);
    const bid = r.comparison!.columns.find((c) => c.column === 'total_bid')!;
    expect(bid.keysDiffering).toBeGreaterThan(0);
    expect(bid.maxAbsDiff!).toBeGreaterThan(0);
    expect(r.comparison!.keyMoves).toBe(0);
    expect(t.moved).toBe(0);
    expect(r.comparison!.rowSetChanges).toBe(0);
    // Byte-identical files, from the files' own bytes: with total_bid spread over every file, none is.
    const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    // Compared bucket by bucket (part-00000…): each version's file names carry its own tag.
    const fileOf = (d: string, bucket: string) =>
      join(d, readdirSync(d).find((f) => f.startsWith(`${bucket}-`) && f.endsWith('.parquet'))!);
    const names = readdirSync(dirs[0]!)
      .filter((f) => f.endsWith('.parquet'))
      .map((f) => f.slice(0, 'part-00000'.length))
      .sort();
    const identical = names.filter((n) => new Set(dirs.map((d) => sha(fileOf(d, n)))).size === 1);
    expect(identical).toEqual([]);
    expect(r.comparison!.identicalFiles).toEqual({ identical: 0, total: names.length, differing: names });
    // Differences in the last bits are within the default tolerance: no problem, nothing unstable; the example lints clean.
    expect([r.unstableColumns, r.problems, r.lint]).toEqual([[], [], []]);
  });

  it('on an analyzer that selects random(): reports the column beyond tolerance and the lint error', async () => {
    const ctx = await tp.open();
    try {
      const r = await runAudit(ctx, { analyzer: 'audit_random', partition: P, runs: 2, tolerance: DEFAULT_TOLERANCE });
      expect([r.varyingColumns, r.unstableColumns]).toEqual([['r'], ['r']]);
      expect(r.comparison!.columns.find((c) => c.column === 'n')!.keysDiffering).toBe(0);
      expect(r.comparison!.keyMoves).toBe(0);
      expect(r.lint.map((f) => f.rule)).toEqual(['nondeterministic-function']);
      expect(r.problems).toEqual([
        expect.stringContaining('column r (DOUBLE) differs between runs for 200 key(s)'),
        expect.stringContaining('lint nondeterministic-function'),
      ]);
      expect(r.scratch).toBeNull();
      expect(readdirSync(join(tp.dir, 'data/out/.recount/audit'))).toHaveLength(1); // only the run kept above
    } finally {
      await ctx.close();
    }
  });

  it('through the CLI: --json, exit 0 when deterministic within tolerance, nothing published or loaded', () => {
    const r = tp.cli(['--json', 'audit', H, '--partition', P, '--runs', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({
      ok: true,
      analyzer: H,
      partition: P,
      problems: [],
      comparison: { keyMoves: 0, rowSetChanges: 0 },
    });
    expect(r.json.runs).toHaveLength(2);
    expect(existsSync(join(tp.dir, 'data/out', H))).toBe(false);
    expect(existsSync(join(tp.dir, '.recount/warehouse.duckdb'))).toBe(false);
  });
});
