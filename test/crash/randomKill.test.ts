import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { OutputLayout } from '../../src/commit/paths.ts';
import { makeProject, runCli, type TestProject } from '../helpers/project.ts';
import {
  assertPublishedComplete,
  assertReaderSeesOnlyCommitted,
  assertRecovered,
  cleanCopy,
} from '../helpers/invariants.ts';
import { prng, runWatched as runWatchedOf, type KillAt } from './watchedRun.ts';

// A real `recount run` child is killed with SIGKILL at an instant picked by a seeded PRNG, anywhere from
// about the middle of its start-up to the length of a fault-free run (both measured here); a reader must see one complete version right after,
// and a plain retry must publish the fault-free rows and leave nothing behind. Seeds make failures replayable.

const ANALYZER = 'user_bids';
const PARTITION = '2023-10-12T00';
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

// Nearly one output row per impression (~250k rows in 4 files), so the query, the files, the checks and
// the hashing take a good share of the run rather than only process start-up.
const userBids = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({
  name: 'user_bids',
  inputs: ['events'],
  grain: 'hour',
  sql: \`SELECT user_id, ad_id, count(*) AS impression_count, sum(bid_price) AS total_bid
        FROM events WHERE event_type = 'impression' GROUP BY user_id, ad_id\`,
  files: 4,
});
`;

/** `recount run` of this test's analyzer and partition, watched (see ./watchedRun.ts). */
const runWatched = (tp: TestProject, stagingRoot: string, when?: KillAt) =>
  runWatchedOf(tp, { analyzer: ANALYZER, partition: PARTITION, stagingRoot }, when);

/** Run `recount run` to its end and return the milliseconds from its staging folder appearing to its exit. */
async function timeFromStagingToExit(tp: TestProject, stagingRoot: string): Promise<number> {
  const run = await runWatched(tp, stagingRoot);
  if (run.code !== 0) throw new Error(`the timing run exited ${run.code}: ${run.stderr}`);
  return run.stagedAt === undefined ? 0 : run.exitedAt - run.stagedAt;
}

describe('recount run killed by SIGKILL at random instants', () => {
  let tp: TestProject;
  let baseline: ReturnType<typeof cleanCopy>;
  let runMs = 0;
  let startupMs = 0;
  /** How long the attempt itself took in the fault-free run: the window kills should land in. */
  let attemptMs = 0;
  /** Where each seed's kill landed. */
  const landed: string[] = [];
  const out = () => join(tp.dir, 'data/out');

  beforeAll(async () => {
    tp = await makeProject({ examples: false, analyzers: { user_bids: userBids }, hours: 1, rowsPerHour: 300_000 });
    baseline = cleanCopy(tp);
    const b = baseline.cli(['run', ANALYZER, '--partition', PARTITION]);
    expect(b.code, b.stderr).toBe(0);
    // A first run warms what later runs reuse (recount's bundle, the project's compiled config): timed, it would make
    // the window far longer than the runs the seeds kill, and every kill would land after the run ended.
    const warm = runCli(['--project', tp.dir, 'run', ANALYZER, '--partition', PARTITION]);
    expect(warm.code, warm.stderr).toBe(0);
    // The fault-free run that publishes the previous version also measures how long a whole run takes.
    const started = Date.now();
    const first = runCli(['--project', tp.dir, '--json', 'run', ANALYZER, '--partition', PARTITION]);
    runMs = Date.now() - started;
    expect(first.code, first.stderr).toBe(0);
    // The kill window is timed as the kills are: from the attempt's staging folder appearing to the process's exit
    // (the attempt's own durationMs also counts what comes before its staging, and made the window too long).
    const windows: number[] = [];
    for (let i = 0; i < 3; i++) windows.push(await timeFromStagingToExit(tp, new OutputLayout(out()).stagingRoot));
    attemptMs = Math.max(1, Math.min(...windows, Number(first.json.durationMs)));
    // Process start-up (Node, tsx, project load, state store, recovery) is most of a short run; a command
    // that does only that tells how long, so kill instants can skip its first half and land in the attempt more often.
    const t = Date.now();
    expect(runCli(['--project', tp.dir, 'status']).code).toBe(0);
    startupMs = Math.min(Date.now() - t, runMs);
  });
  afterAll(() => {
    tp?.cleanup();
    baseline?.cleanup();
  });

  /** Where the run was when it died, from the state store and the files (no recovery has run yet). */
  async function whereItDied(before: Set<string>, prevVersion: number): Promise<string> {
    const ctx = await tp.open();
    try {
      const fresh = (await ctx.store.listAttempts({ analyzer: ANALYZER, partitionId: PARTITION })).filter(
        (a) => !before.has(a.attempt_id),
      );
      if (fresh.length === 0) return 'before its attempt began';
      const a = fresh[0]!;
      if (a.status !== 'running') return `after the attempt ended (${a.status})`;
      const intents = await ctx.store.pendingIntents();
      const published = (await ctx.store.getPartition(ANALYZER, PARTITION))?.published_seq;
      if (intents.length)
        return published === prevVersion
          ? 'publishing (intent recorded)'
          : 'publishing (intent recorded, link switched)';
      if (!existsSync(a.staging_dir)) return 'starting the attempt';
      const staged = readdirSync(a.staging_dir);
      if (staged.includes('_manifest.json')) return 'after the manifest';
      return `staging (${staged.filter((f) => f.endsWith('.parquet')).length} files)`;
    } finally {
      await ctx.close();
    }
  }

  for (const seed of SEEDS) {
    it(`seed ${seed}: right after the kill one complete version is visible; the retry publishes the fault-free rows with no orphans`, async () => {
      const prev = (await assertPublishedComplete(out(), ANALYZER, PARTITION))!;
      expect(prev).toBeDefined();
      const ctx = await tp.open();
      const before = new Set(
        (await ctx.store.listAttempts({ analyzer: ANALYZER, partitionId: PARTITION })).map((a) => a.attempt_id),
      );
      await ctx.close();

      // Most instants inside the attempt (a little past its end too), one in eight in the start-up before it.
      const r = prng(seed)();
      const when =
        r < 0.125
          ? { startupKillMs: Math.floor((r / 0.125) * startupMs) }
          : { attemptKillMs: Math.floor(((r - 0.125) / 0.875) * 1.1 * attemptMs) };
      const delayMs = 'startupKillMs' in when ? when.startupKillMs : when.attemptKillMs;
      const killed = await runWatched(tp, new OutputLayout(out()).stagingRoot, when);
      // Killed, or (a late instant) finished cleanly first: either way the invariants must hold.
      expect(
        killed.signal === 'SIGKILL' || killed.code === 0,
        `exit ${killed.code} ${killed.signal}: ${killed.stderr}`,
      ).toBe(true);

      const now = await assertPublishedComplete(out(), ANALYZER, PARTITION);
      expect([prev.version, prev.version + 1]).toContain(now?.version);
      await assertReaderSeesOnlyCommitted(out(), ANALYZER);
      const where = killed.signal ? await whereItDied(before, prev.version) : 'it had already finished';
      landed.push(where);
      console.log(
        `seed ${seed}: killed ${'startupKillMs' in when ? 'after start' : 'into the attempt'} ${delayMs} ms (start-up ${startupMs} ms, attempt ${attemptMs} ms, whole run ${runMs} ms), ${where}`,
      );

      const retry = runCli(['--project', tp.dir, '--json', 'run', ANALYZER, '--partition', PARTITION]);
      expect(retry.code, retry.stderr).toBe(0);
      expect(retry.json.status).toBe('succeeded');
      const view = await assertRecovered(tp, {
        analyzer: ANALYZER,
        partition: PARTITION,
        baselineOutput: join(baseline.dir, 'data/out'),
      });
      expect(view.manifest.attemptId).toBe(retry.json.attemptId);
    });
  }

  it('the kills landed inside attempts, not only around them (else the seeds above proved little)', () => {
    const inside = landed.filter((w) => /^(starting the attempt|staging|after the manifest|publishing)/.test(w));
    expect(inside.length, landed.join('; ')).toBeGreaterThanOrEqual(Math.ceil(SEEDS.length / 4));
  });
});
