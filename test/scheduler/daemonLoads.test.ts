import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { openStateStore } from '../../src/state/open.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { startServe, waitFor } from '../helpers/serve.ts';
import { CONFIG, HOURLY, landHour, serveFixture } from '../helpers/serveProject.ts';

const ANALYZER = 'ad_impressions_hourly';
const HOURS = ['2023-10-12T00', '2023-10-12T01', '2023-10-12T02', '2023-10-12T03', '2023-10-12T04'];
const WAREHOUSE = 'wh.duckdb';

/** Rows per partition of the warehouse table, opened read-write: only possible when no other process holds the file. */
async function tableRows(dir: string): Promise<Map<string, number>> {
  const db = await DuckDBInstance.create(join(dir, WAREHOUSE));
  const conn = await db.connect();
  try {
    const rows = (
      await conn.runAndReadAll(
        `SELECT strftime(dt, '%Y-%m-%d') || 'T' || lpad(hour::VARCHAR, 2, '0') AS p, count(*)::INTEGER AS n FROM ad_hourly GROUP BY ALL`,
      )
    ).getRowObjectsJson() as { p: string; n: number }[];
    return new Map(rows.map((r) => [r.p, r.n]));
  } finally {
    // The connection too: an instance with an open connection keeps the file (and its lock) open.
    conn.closeSync();
    db.closeSync();
  }
}

// Under serve, the daemon is the one writer of a DuckDB warehouse file (src/scheduler/warehouseWriter.ts): workers
// publish and leave the load owed, and the daemon loads it through one open file.
describe('serve with a DuckDB warehouse file', () => {
  const f = serveFixture();

  async function project(): Promise<TestProject> {
    const tp = (f.tp = await makeProject({
      examples: false,
      config: CONFIG(`warehouse: 'duckdb:${WAREHOUSE}',`, ', loadRetries: { backoffMs: 200, maxBackoffMs: 400 }'),
      analyzers: { hourly: HOURLY({ load: 'ad_hourly' }) },
      hours: 0,
    }));
    for (const h of HOURS) await landHour(tp, h, 11);
    f.store = await openStateStore('sqlite:.recount/state.db', tp.dir);
    return tp;
  }

  /** Every hour's published version is loaded, and the table holds exactly its rows (I5). */
  async function assertMirrored(p: TestProject): Promise<void> {
    const rows = await tableRows(p.dir);
    for (const h of HOURS) {
      const v = (await f.store!.publishedVersion(ANALYZER, h))!;
      expect(v, h).toBeDefined();
      expect((await f.store!.loads.get(ANALYZER, h, Number(v.seq)))?.status, h).toBe('loaded');
      expect(rows.get(h), h).toBe(Number(v.rows));
    }
    expect(rows.size).toBe(HOURS.length);
  }

  it('loads every published version in the daemon, and lets the file go once loads stop', async () => {
    const p = await project();
    const serve = (f.serve = startServe(p));
    await waitFor('all loaded', async () => {
      for (const h of HOURS) {
        const v = await f.store!.publishedVersion(ANALYZER, h);
        if (!v || (await f.store!.loads.get(ANALYZER, h, Number(v.seq)))?.status !== 'loaded') return false;
      }
      return true;
    });
    // serve keeps running; a second after its last load the file is free for another process to open and write.
    await waitFor('the file let go', () => tableRows(p.dir).then(() => true), 15_000, 300);
    await assertMirrored(p);
    expect(await serve.stop()).toBe(0);
    // One attempt per partition: loading in the daemon never reran anything.
    for (const h of HOURS) expect(await f.store!.listAttempts({ analyzer: ANALYZER, partitionId: h })).toHaveLength(1);
  });

  for (const fault of ['during-load-copy', 'before-load-commit'] as const) {
    it(`a daemon killed at ${fault} leaves the table as it was; the next daemon loads exactly once`, async () => {
      const p = await project();
      // The daemon dies at its first load (workers never load: the fault point is never theirs).
      let serve = (f.serve = startServe(p, [], { RECOUNT_FAULT: fault }));
      const dead = await serve.exited();
      expect(dead.signal).toBe('SIGKILL');
      // Nothing of the killed load is in the table; what was published stays published, its load owed.
      const before = await tableRows(p.dir).catch(() => new Map<string, number>());
      let owed = 0;
      for (const h of HOURS) {
        const v = await f.store!.publishedVersion(ANALYZER, h);
        const l = v && (await f.store!.loads.get(ANALYZER, h, Number(v.seq)));
        if (v && l?.status !== 'loaded') {
          owed++;
          expect(before.get(h), h).toBeUndefined();
        }
      }
      expect(owed).toBeGreaterThan(0);
      serve = f.serve = startServe(p, ['--until-idle']);
      expect((await serve.exited()).code).toBe(0);
      await assertMirrored(p);
    });
  }
});
