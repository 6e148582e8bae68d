import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketFile, makeProject, type TestProject } from '../helpers/project.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { byHand, configWithWarehouse, tableState, versionStats } from './projectWarehouse.ts';

const A = 'ad_impressions_hourly';
const [P0, P1] = ['2023-10-12T00', '2023-10-12T01'];

// A port nothing listens on: bind one, note it, close it.
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

// Every bad input ends with a clear, typed message, the table's rows as they were, and the load recorded.
describe('bad warehouse input (PostgreSQL)', () => {
  let server: TestPostgres;
  let url: string;
  let tp: TestProject;
  let v1: { rows: number; checksum: string };

  const intact = async (p = P0) => {
    const st = await tableState(url, tp.dir, A);
    expect(st.stats.get(p)).toMatchObject({ rows: v1.rows, checksum: v1.checksum });
    expect(st.loads.get(p)).toMatchObject({ version: 1 });
  };

  beforeAll(async () => {
    server = await startPostgres();
    url = await server.createDatabase('bad');
    tp = await makeProject({ hours: 2, rowsPerHour: 3000, config: configWithWarehouse(url) });
    expect(tp.cli(['run', A, '--partition', P0]).code).toBe(0);
    const ctx = await tp.open();
    try {
      v1 = await versionStats(ctx.store, A, P0, 1);
    } finally {
      await ctx.close();
    }
  });
  afterAll(async () => {
    tp?.cleanup();
    await server?.stop();
  });

  it('wrong credentials: WAREHOUSE_AUTH naming the user, never a password; the load is recorded failed (waits for the fix), exit 2', async () => {
    const secret = 'Wr0ng-Secret-9';
    const r = tp.cli(['load', A, '--partition', P0, '--force'], {
      RECOUNT_WAREHOUSE: `postgres://recount:${secret}@127.0.0.1:${server.port}/bad`,
    });
    // 2: the configuration is at fault, as for any bad setting; an unreachable server exits 1 (below).
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('WAREHOUSE_AUTH');
    expect(r.stderr).toContain('"recount"');
    expect(r.stderr).toContain('postgres://recount:***@127.0.0.1');
    expect(r.stderr).toContain('the load is recorded as failed and waits for the fix');
    for (const s of [secret, server.password]) expect(r.stdout + r.stderr).not.toContain(s);
    const ctx = await tp.open();
    try {
      const rec = await ctx.store.loads.get(A, P0, 1);
      expect(rec).toMatchObject({ status: 'failed', error_code: 'WAREHOUSE_AUTH' });
      expect(JSON.stringify(rec)).not.toContain(secret);
      // recount serve retries pending loads only: wrong credentials would be tried forever.
      expect(await ctx.store.loads.owed([A])).toEqual([]);
    } finally {
      await ctx.close();
    }
    await intact();
    // Once the credentials are right, --pending loads it.
    expect(tp.cli(['load', '--pending']).code).toBe(0);
  });

  it('monitor against a database that does not exist says what to fix, and nothing about a load', async () => {
    const r = tp.cli(['monitor'], {
      RECOUNT_WAREHOUSE: `postgres://recount:${server.password}@127.0.0.1:${server.port}/no_such_db`,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('WAREHOUSE_UNREACHABLE');
    expect(r.stderr).toContain('create the database first, or fix its name in the warehouse URL');
    expect(r.stderr).not.toMatch(/pending|recorded as/);
  });

  it('an unreachable host makes recount load exit 1 with the load recorded pending (retried)', async () => {
    const port = await closedPort();
    const r = tp.cli(['load', A, '--partition', P0, '--force'], {
      RECOUNT_WAREHOUSE: `postgres://recount:${server.password}@127.0.0.1:${port}/bad`,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the load is recorded as pending: recount load --pending retries it');
    const ctx = await tp.open();
    try {
      expect(await ctx.store.loads.get(A, P0, 1)).toMatchObject({
        status: 'pending',
        error_code: 'WAREHOUSE_UNREACHABLE',
      });
    } finally {
      await ctx.close();
    }
    expect(tp.cli(['load', '--pending']).code).toBe(0);
  });

  it('unreachable host: the run still publishes, warns, records the load pending; --pending loads it later', async () => {
    const port = await closedPort();
    const r = tp.cli(['--json', 'run', A, '--partition', P1], {
      RECOUNT_WAREHOUSE: `postgres://recount:${server.password}@127.0.0.1:${port}/bad`,
    });
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, status: 'succeeded', version: 1 });
    const warning = (r.json.warnings as string[]).find((w) => w.includes('WAREHOUSE_UNREACHABLE'));
    expect(warning).toContain(`127.0.0.1:${port}`);
    expect(warning).toContain('recount load ad_impressions_hourly --pending');
    expect(r.stdout + r.stderr).not.toContain(server.password);
    const ctx = await tp.open();
    try {
      expect(await ctx.store.loads.pending({ analyzer: A })).toContainEqual(
        expect.objectContaining({
          partition_id: P1,
          version_seq: 1,
          status: 'pending',
          error_code: 'WAREHOUSE_UNREACHABLE',
        }),
      );
      expect((await tableState(url, tp.dir, A)).stats.has(P1)).toBe(false);
      const retry = tp.cli(['--json', 'load', '--pending']);
      expect(retry.code, retry.stderr).toBe(0);
      const p1 = await versionStats(ctx.store, A, P1, 1);
      expect((await tableState(url, tp.dir, A)).stats.get(P1)).toMatchObject({ rows: p1.rows, checksum: p1.checksum });
      expect(await ctx.store.loads.pending({ analyzer: A, includeFailed: true })).toEqual([]);
    } finally {
      await ctx.close();
    }
  });

  it('a table changed by hand incompatibly: WAREHOUSE_SCHEMA naming table and column; rows stay; recorded failed', async () => {
    await byHand(url, tp.dir, `ALTER TABLE ${A} ALTER COLUMN impression_count TYPE text`);
    try {
      const r = tp.cli(['--json', 'load', A, '--partition', P0, '--force']);
      expect(r.code).toBe(1);
      expect(r.json.loads[0]).toMatchObject({
        status: 'failed',
        error: { code: 'WAREHOUSE_SCHEMA', subject: `${A}.impression_count` },
      });
      expect(r.json.loads[0].error.message).toContain(
        'impression_count is text in the table but bigint in this version',
      );
      await intact();
    } finally {
      await byHand(
        url,
        tp.dir,
        `ALTER TABLE ${A} ALTER COLUMN impression_count TYPE bigint USING impression_count::bigint`,
      );
    }
  });

  it('a trigger that duplicates rows fails reconciliation: rolled back, LOAD_MISMATCH naming the key, raised in the state store', async () => {
    await byHand(
      url,
      tp.dir,
      `CREATE FUNCTION dup_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ${A} SELECT NEW.*; RETURN NULL; END $$`,
    );
    await byHand(
      url,
      tp.dir,
      `CREATE TRIGGER dup AFTER INSERT ON ${A} FOR EACH ROW WHEN (pg_trigger_depth() < 1 AND NEW.ad_id = 3) EXECUTE FUNCTION dup_row()`,
    );
    try {
      const r = tp.cli(['--json', 'load', A, '--partition', P0, '--force']);
      expect(r.code).toBe(1);
      const e = r.json.loads[0].error;
      expect(e.code).toBe('LOAD_MISMATCH');
      expect(e.message).toContain(`table ${A} partition ${P0}`);
      expect(e.message).toMatch(/duplicate keys, e\.g\. \(ad_id=3, user_segment=seg_\d\d\) x2/);
      await intact();
      const ctx = await tp.open();
      try {
        expect(await ctx.store.loads.get(A, P0, 1)).toMatchObject({ status: 'failed', error_code: 'LOAD_MISMATCH' });
      } finally {
        await ctx.close();
      }
    } finally {
      await byHand(url, tp.dir, `DROP TRIGGER dup ON ${A}`);
    }
  });

  it('a version whose files were deleted: VERSION_FILES_MISSING naming the file; rows stay', async () => {
    const ctx = await tp.open();
    try {
      const v = await ctx.store.publishedVersion(A, P0);
      const gone = `${v!.dir}/${bucketFile(v!.dir, 2)}`;
      rmSync(gone);
      const r = tp.cli(['--json', 'load', A, '--partition', P0, '--force']);
      expect(r.code).toBe(1);
      expect(r.json.loads[0].error).toMatchObject({ code: 'VERSION_FILES_MISSING', subject: gone });
      expect(r.json.loads[0].error.message).toContain(gone.split('/').pop()!);
      expect(r.json.loads[0].error.hint).toContain(`recount run ${A} --partition ${P0}`);
      expect(await ctx.store.loads.get(A, P0, 1)).toMatchObject({
        status: 'failed',
        error_code: 'VERSION_FILES_MISSING',
      });
      await intact();
      // The monitor raises a load that needs a fix.
      const m = tp.cli(['--json', 'monitor']);
      expect(m.code).toBe(1);
      expect(m.json.findings).toContainEqual(
        expect.objectContaining({
          table: A,
          partition: P0,
          problem: 'load_failed',
          detail: expect.stringContaining('VERSION_FILES_MISSING'),
        }),
      );
    } finally {
      await ctx.close();
    }
  });
});
