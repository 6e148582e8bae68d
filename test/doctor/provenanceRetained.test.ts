import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { versionsWithEngine } from '../../src/doctor/provenance.ts';
import { publishRuns } from '../helpers/publish.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

// "Which outputs did the buggy engine make?" covers the kept older versions too (U6): they are not visible,
// but a rollback would publish them again. The rerun command names the analyzer, and works as given.

const H = 'ad_impressions_hourly';
const [T00, T01] = ['2023-10-12T00', '2023-10-12T01'];

describe('versions made by an engine version', () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({ hours: 2, rowsPerHour: 1000 });
    await publishRuns(tp, [
      [H, T00],
      [H, T00],
      [H, T01],
    ]);
    // T00 v1 (now retained) and T01 v1 (published), as if made by DuckDB 1.4.0.
    const db = new Database(join(tp.dir, '.recount/state.db'));
    db.prepare("UPDATE versions SET engine_version = 'v1.4.0' WHERE seq = 1").run();
    db.close();
  });
  afterAll(() => tp.cleanup());

  const query = async (analyzer?: string) => {
    const ctx = await tp.open();
    try {
      const r = await versionsWithEngine(ctx.store, '1.4.0', analyzer);
      return {
        published: r.published.map((v) => [v.partition_id, v.seq]),
        retained: r.retained.map((v) => [v.partition_id, v.seq]),
        backfill: r.backfill,
      };
    } finally {
      await ctx.close();
    }
  };

  it('lists the published versions, the retained ones (rollback targets), and a backfill naming the analyzer', async () => {
    expect(await query()).toEqual({
      published: [[T01, 1]],
      retained: [[T00, 1]],
      backfill: [`recount backfill ${H} --where engine-version=1.4.0`],
    });
    expect(await query('ad_impressions_daily')).toEqual({ published: [], retained: [], backfill: [] });
  });

  it('the backfill it gives reruns the published one; the old output then stays only as retained versions', async () => {
    const [cmd] = (await query()).backfill;
    const r = tp.cli(cmd!.split(' ').slice(1));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await query()).toEqual({
      published: [],
      retained: [
        [T00, 1],
        [T01, 1],
      ],
      backfill: [],
    });
  });
});
