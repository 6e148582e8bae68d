import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { generateEvents } from '../../src/gen/events.ts';
import { getAnalyzer } from '../../src/config/project.ts';
import { runPartition, type RunContext } from '../../src/run/runPartition.ts';
import { fileList } from '../../src/engine/sql.ts';
import { readManifest } from '../../src/commit/manifest.ts';
import { versionTag } from '../../src/layout/bucketing.ts';
import { duck, makeProject, type TestProject } from '../helpers/project.ts';
import { replaceInputFile } from '../helpers/readers.ts';

// A daily analyzer reads the 24 published versions of an hourly one while hours are republished under it (their
// input alternating between two data sets): each daily version equals the daily SQL over one complete version of
// each hour, and its provenance names exactly those versions (analyzer, partition, version, attempt).

const DAY = '2023-10-12';
const CONFIG = `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  keepVersions: 200,
  defaults: { memory: '1GB', threads: 1, files: 4 },
});`;
const HOURLY = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'hr', inputs: ['events'], grain: 'hour', files: 4,
  sql: 'SELECT ad_id, count(*)::BIGINT AS n, sum(user_id)::BIGINT AS u FROM events GROUP BY ad_id' });`;
const DAILY_SQL = 'SELECT ad_id, sum(n)::BIGINT AS n, sum(u)::BIGINT AS u FROM hr GROUP BY ad_id';
const DAILY = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'daily', inputs: ['hr'], grain: 'day', files: 2, keys: ['ad_id'],
  sql: '${DAILY_SQL}' });`;
const REPUBLISHED = ['00', '01', '02', '03'];

function runCli(tp: TestProject, args: string[]): Promise<{ code: number | null; json: any; stderr: string }> {
  return new Promise((resolve) => {
    const child = tp.spawnCli(args);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    child.on('close', (code) => {
      let json: any;
      try {
        json = JSON.parse(out);
      } catch {
        json = undefined;
      }
      resolve({ code, json, stderr: err });
    });
  });
}

describe('a daily analyzer over hourly partitions republished while it reads them', () => {
  let tp: TestProject;
  let ctx: RunContext & { close(): Promise<void> };
  const other = new Map<string, string>();

  beforeAll(async () => {
    tp = await makeProject({
      hours: 24,
      rowsPerHour: 1500,
      seed: 3,
      examples: false,
      config: CONFIG,
      analyzers: { hr: HOURLY, daily: DAILY },
    });
    const scratch = join(tp.dir, 'sources/b');
    await generateEvents({
      out: scratch,
      start: `${DAY}T00`,
      hours: REPUBLISHED.length,
      rowsPerHour: 1500,
      seed: 4,
      ads: 200,
      threads: 1,
    });
    for (const h of REPUBLISHED) other.set(h, join(scratch, `dt=${DAY}/hour=${h}/part-00000.parquet`));
    ctx = await tp.open();
    const hr = getAnalyzer(ctx.project, 'hr');
    for (let h = 0; h < 24; h++) {
      const r = await runPartition(ctx, hr, `${DAY}T${String(h).padStart(2, '0')}`);
      expect(r.error).toBeUndefined();
    }
  }, 90_000);
  afterAll(async () => {
    await ctx?.close();
    tp?.cleanup();
  });

  it('every daily version equals the daily SQL over one complete version of each hour, and names those versions', async () => {
    const hr = getAnalyzer(ctx.project, 'hr');
    const original = new Map(REPUBLISHED.map((h) => [h, join(tp.dir, `sources/a-${h}.parquet`)]));
    for (const h of REPUBLISHED)
      replaceInputFile(join(tp.dir, `data/events/dt=${DAY}/hour=${h}/part-00000.parquet`), original.get(h)!);

    let done = false;
    let republishes = 0;
    const republisher = (async () => {
      for (let i = 0; !done; i++) {
        const h = REPUBLISHED[i % REPUBLISHED.length]!;
        const useB = Math.floor(i / REPUBLISHED.length) % 2 === 0;
        replaceInputFile(
          useB ? other.get(h)! : original.get(h)!,
          join(tp.dir, `data/events/dt=${DAY}/hour=${h}/part-00000.parquet`),
        );
        const r = await runPartition(ctx, hr, `${DAY}T${h}`);
        expect(r.error).toBeUndefined();
        republishes++;
      }
    })();
    const dailies: number[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const r = await runCli(tp, ['--json', 'run', 'daily', '--partition', DAY]);
        expect(r.code, r.stderr).toBe(0);
        dailies.push(r.json.version);
      }
    } finally {
      done = true;
      await republisher;
    }
    expect(republishes).toBeGreaterThan(3);

    const hourVersionsRead = new Set<string>();
    for (const seq of dailies) {
      const v = (await ctx.store.getVersion('daily', DAY, seq))!;
      const m = readManifest(v.dir)!;
      const input = m.provenance.inputs[0]!;
      expect(input.dataset).toBe('hr');
      // The versions read: one of each of the 24 hours, each named with its attempt.
      expect(input.versions?.map((x) => x.partition)).toEqual(
        Array.from({ length: 24 }, (_, h) => `${DAY}T${String(h).padStart(2, '0')}`),
      );
      const hourFiles: string[] = [];
      for (const x of input.versions!) {
        expect(x.analyzer).toBe('hr');
        const hv = (await ctx.store.getVersion('hr', x.partition, x.version))!;
        const hm = readManifest(hv.dir)!;
        expect(hm.attemptId).toBe(x.attemptId);
        // The input files the fingerprint lists are exactly that version's files.
        const listed = input.files
          .filter((f) => f.path.startsWith(`dt=${DAY}/hour=${x.partition.slice(11)}/`))
          .map((f) => f.path.split('/').pop());
        expect(listed).toEqual(hm.files.map((f) => f.path));
        for (const f of listed) expect(f).toContain(`-${versionTag(x.attemptId)}.parquet`);
        hourFiles.push(...hm.files.map((f) => join(hv.dir, f.path)));
        hourVersionsRead.add(`${x.partition} v${x.version}`);
      }
      // The daily output is the daily SQL over exactly those versions, row for row.
      const expected = `SELECT ad_id, sum(n)::BIGINT AS n, sum(u)::BIGINT AS u FROM read_parquet(${fileList(hourFiles)}) GROUP BY ad_id`;
      const got = `SELECT ad_id, n, u FROM read_parquet(${fileList(m.files.map((f) => join(v.dir, f.path)))})`;
      const [diff] = await duck<{ missing: string; extra: string; rows: string }>(
        `SELECT (SELECT count(*) FROM (${expected} EXCEPT ALL ${got}))::VARCHAR AS missing, (SELECT count(*) FROM (${got} EXCEPT ALL ${expected}))::VARCHAR AS extra, (SELECT count(*) FROM (${got}))::VARCHAR AS rows`,
      );
      expect(diff, `daily v${seq} against the hourly versions it names`).toEqual({
        missing: '0',
        extra: '0',
        rows: String(m.rows),
      });
    }
    // The dailies were computed from more than one version of the republished hours (the test raced something).
    expect(hourVersionsRead.size).toBeGreaterThan(24);
    // recount status shows the same provenance: the hourly versions each daily version was computed from.
    const st = tp.cli(['--json', 'status', 'daily', '--partition', DAY]);
    expect(st.code, st.stderr).toBe(0);
    for (const seq of dailies) {
      const m = readManifest((await ctx.store.getVersion('daily', DAY, seq))!.dir)!;
      expect(st.json.versions.find((x: { version: number }) => x.version === seq).inputVersions).toEqual(
        m.provenance.inputs[0]!.versions,
      );
    }
    const text = tp.cli(['status', 'daily', '--partition', DAY]);
    expect(text.stdout).toContain(`v${dailies.at(-1)} was computed from hr ${DAY}T00 v`);
  }, 90_000);
});
