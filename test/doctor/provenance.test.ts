import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runPartition } from '../../src/run/runPartition.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

// "Which outputs did the buggy engine version produce?" Every version records the DuckDB version that made
// it (I8); status lists the published ones for a version, and backfill reruns exactly those.

const H = 'ad_impressions_hourly';
const PARTS = ['2023-10-12T00', '2023-10-12T01', '2023-10-12T02'];

describe('provenance queries', () => {
  let tp: TestProject;
  let current = '';
  beforeAll(async () => {
    tp = await makeProject({ hours: 3, rowsPerHour: 1500 });
    const ctx = await tp.open();
    try {
      for (const p of PARTS)
        expect((await runPartition(ctx, ctx.project.analyzers.get(H)!, p)).status).toBe('succeeded');
      current = (await ctx.store.getVersion(H, PARTS[0]!, 1))!.engine_version;
    } finally {
      await ctx.close();
    }
    // Two partitions as if published by DuckDB 1.4.0.
    const db = new Database(join(tp.dir, '.recount/state.db'));
    db.prepare("UPDATE versions SET engine_version = 'v1.4.0' WHERE analyzer = ? AND partition_id IN (?, ?)").run(
      H,
      PARTS[0],
      PARTS[2],
    );
    db.close();
  });
  afterAll(() => tp.cleanup());

  it('status --engine-version lists exactly the published versions made with it (with or without the v)', () => {
    const r = tp.cli(['--json', 'status', H, '--engine-version', '1.4.0']);
    expect(r.code, r.stderr).toBe(0);
    expect(
      r.json.versions.map((v: { partition: string; version: number; engineVersion: string }) => [
        v.partition,
        v.version,
        v.engineVersion,
      ]),
    ).toEqual([
      [PARTS[0], 1, 'v1.4.0'],
      [PARTS[2], 1, 'v1.4.0'],
    ]);
  });

  it('backfill --where engine-version=V reruns exactly those partitions with the current engine', () => {
    const r = tp.cli(['--json', 'backfill', H, '--where', 'engine-version=v1.4.0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.results.map((x: { partition: string; version: number }) => [x.partition, x.version])).toEqual([
      [PARTS[0], 2],
      [PARTS[2], 2],
    ]);
    const db = new Database(join(tp.dir, '.recount/state.db'), { readonly: true });
    const published = db
      .prepare(
        "SELECT partition_id, seq, engine_version FROM versions WHERE analyzer = ? AND status = 'published' ORDER BY partition_id",
      )
      .all(H);
    db.close();
    expect(published).toEqual([
      { partition_id: PARTS[0], seq: 2, engine_version: current },
      { partition_id: PARTS[1], seq: 1, engine_version: current },
      { partition_id: PARTS[2], seq: 2, engine_version: current },
    ]);
    const after = tp.cli(['--json', 'status', H, '--engine-version', 'v1.4.0']);
    expect(after.json.versions).toEqual([]);
  });

  it('backfill without a range or a filter is a usage error (exit 2)', () => {
    const r = tp.cli(['--json', 'backfill', H, '--where', 'sql-hash=abc']);
    expect(r.code).toBe(2);
    expect(r.json.error).toMatchObject({ code: 'USAGE', subject: '--where' });
  });
});
