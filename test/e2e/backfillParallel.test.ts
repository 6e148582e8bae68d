import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { assertUniqueKeys } from '../helpers/invariants.ts';
import { duck, makeProject, readPublished, type TestProject } from '../helpers/project.ts';

const H = 'ad_impressions_hourly';
const HOURS = ['2023-10-12T00', '2023-10-12T01', '2023-10-12T02', '2023-10-12T03', '2023-10-12T04', '2023-10-12T05'];
const KEYS = ['ad_id', 'user_segment'];

interface BackfillJson {
  succeeded: number;
  failed: number;
  results: { partition: string; status: string; version: number; publishedPath: string; load?: { status: string } }[];
}

/** Rows of the warehouse table, per partition. */
async function tableRows(dir: string): Promise<Record<string, number>> {
  const rows = await duck<{ p: string; n: number }>(
    `ATTACH '${join(dir, '.recount/warehouse.duckdb')}' AS wh (READ_ONLY); SELECT strftime(dt, '%Y-%m-%d') || 'T' || lpad(hour::VARCHAR, 2, '0') AS p, count(*)::INTEGER AS n FROM wh.main.${H} GROUP BY ALL ORDER BY p`,
  );
  return Object.fromEntries(rows.map((r) => [r.p, r.n]));
}

// `backfill --parallel n` runs n partitions at once in one process: each attempt its own DuckDB instance and
// memory budget, loads one after another through the one warehouse file. The output is what one at a time makes.
describe('backfill --parallel', () => {
  let serial: TestProject;
  let parallel: TestProject;
  beforeAll(async () => {
    [serial, parallel] = await Promise.all([makeProject({ hours: 6 }), makeProject({ hours: 6 })]);
  });
  afterAll(() => {
    serial.cleanup();
    parallel.cleanup();
  });

  it('publishes and loads every partition once, in partition order, with the rows one at a time gives', async () => {
    const range = ['backfill', H, '--from', HOURS[0]!, '--to', HOURS.at(-1)!];
    const one = serial.cli(['--json', ...range]);
    const three = parallel.cli(['--json', ...range, '--parallel', '3']);
    expect(one.code, one.stderr).toBe(0);
    expect(three.code, three.stderr).toBe(0);
    const a = one.json as BackfillJson;
    const b = three.json as BackfillJson;
    expect(b.succeeded).toBe(HOURS.length);
    expect(b.results.map((r) => r.partition)).toEqual(HOURS);
    expect(b.results.map((r) => [r.status, r.version, r.load?.status])).toEqual(
      HOURS.map(() => ['succeeded', 1, 'loaded']),
    );
    for (const [i, r] of b.results.entries()) {
      await assertUniqueKeys(r.publishedPath, KEYS);
      const rows = await readPublished(r.publishedPath, KEYS);
      const expected = await readPublished(a.results[i]!.publishedPath, KEYS);
      // Same rows in the same files (file names carry each version's own tag: compare the bucket number only).
      const bucketed = (xs: Record<string, unknown>[]) =>
        xs.map(({ _file, ...rest }) => ({ ...rest, bucket: String(_file).slice(0, 10) }));
      expect(bucketed(rows)).toEqual(bucketed(expected));
    }
    expect(await tableRows(parallel.dir)).toEqual(await tableRows(serial.dir));
  });

  it('refuses --parallel 0, naming the option', () => {
    const r = parallel.cli(['backfill', H, '--from', HOURS[0]!, '--to', HOURS[1]!, '--parallel', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--parallel must be a whole number of at least 1');
  });
});
