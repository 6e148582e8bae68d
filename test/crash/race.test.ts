import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { getAnalyzer } from '../../src/config/project.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { applyIntent, publishVersion } from '../../src/commit/publish.ts';
import { readManifest, writeManifest } from '../../src/commit/manifest.ts';
import { currentProcToken, HOST } from '../../src/process/identity.ts';
import { newAttemptId, runPartition } from '../../src/run/runPartition.ts';
import type { StagedVersion, StateStore } from '../../src/state/store.ts';
import type { PublishIntent } from '../../src/state/types.ts';
import { recover } from '../../src/commit/recovery.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { assertNoOrphans, assertPublishedComplete, assertRecovered, cleanCopy } from '../helpers/invariants.ts';

// I7: concurrent attempts of one partition publish one version at a time, through a compare-and-set on the
// partition's version number; a loser's files are removed and never become visible.

const ANALYZER = 'user_bids';
const PARTITION = '2023-10-12T00';

// Many output rows, so an attempt lasts long enough for two of them to overlap.
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

interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly json: any;
  readonly stderr: string;
}

function runChild(tp: TestProject, extra: string[] = [], env?: Record<string, string>): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = tp.spawnCli(['--json', 'run', ANALYZER, '--partition', PARTITION, ...extra], env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    // A child stuck past this is a hang worth reporting with its output, not a silent test timeout.
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      let json: any;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code, signal, json, stderr });
    });
  });
}

let rounds = 0;

/**
 * Two runs that really overlap: each holds at the `before-claim` barrier (staged, not claimed) until the other got
 * there too, so both began on the same published version and both try to claim it: one must win, one be superseded.
 */
function race(tp: TestProject, extra: [string[], string[]] = [[], []]): Promise<ChildRun[]> {
  const env = {
    RECOUNT_BARRIER: 'before-claim',
    RECOUNT_BARRIER_DIR: join(tp.dir, `barrier-${rounds++}`),
    RECOUNT_BARRIER_PARTIES: '2',
  };
  return Promise.all(extra.map((args) => runChild(tp, args, env)));
}

describe('two attempts of one partition at the same time', () => {
  let tp: TestProject;
  let baseline: ReturnType<typeof cleanCopy>;
  const out = () => join(tp.dir, 'data/out');

  beforeAll(async () => {
    tp = await makeProject({ examples: false, analyzers: { user_bids: userBids }, hours: 1, rowsPerHour: 100_000 });
    baseline = cleanCopy(tp);
    const b = baseline.cli(['run', ANALYZER, '--partition', PARTITION]);
    expect(b.code, b.stderr).toBe(0);
  });
  afterAll(() => {
    tp?.cleanup();
    baseline?.cleanup();
  });

  /**
   * Both finished cleanly, on the same base version; exactly one published (on the version it started from) and
   * the other was superseded, leaving nothing.
   */
  async function assertOneWinnerAtATime(runs: ChildRun[]): Promise<void> {
    for (const r of runs) {
      expect(r.code, `${r.stderr} ${JSON.stringify(r.json)}`).toBe(0);
      expect(['succeeded', 'superseded']).toContain(r.json.status);
    }
    console.log(
      `race: ${runs.map((r) => `${r.json.status}${r.json.version ? ` v${r.json.version}` : ''}`).join(' + ')}`,
    );
    const winners = runs.filter((r) => r.json.status === 'succeeded');
    expect(runs.map((r) => r.json.status).sort(), 'exactly one winner and one superseded').toEqual([
      'succeeded',
      'superseded',
    ]);
    const ctx = await tp.open();
    try {
      const bases = new Set<number>();
      for (const r of runs) {
        const a = (await ctx.store.getAttempt(r.json.attemptId))!;
        expect(a.status).toBe(r.json.status);
        bases.add(a.base_seq);
        const mine = (await ctx.store.listVersions(ANALYZER, PARTITION)).filter((v) => v.attempt_id === a.attempt_id);
        if (r.json.status === 'succeeded') {
          // The compare-and-set: a version is only ever the successor of the one the attempt started from.
          expect(a.version_seq).toBe(a.base_seq + 1);
          expect(mine.map((v) => v.seq)).toEqual([a.version_seq]);
        } else {
          expect(a.error_code).toBe('PUBLISH_CONFLICT');
          expect(mine, 'a superseded attempt has no version').toEqual([]);
          expect(existsSync(a.staging_dir), 'a superseded attempt leaves no staging').toBe(false);
        }
      }
      expect(bases.size, 'both attempts began on the same published version: they overlapped').toBe(1);
      const latest = Math.max(...winners.map((w) => w.json.version));
      expect((await ctx.store.getPartition(ANALYZER, PARTITION))?.published_seq).toBe(latest);
    } finally {
      await ctx.close();
    }
    const view = await assertRecovered(tp, {
      analyzer: ANALYZER,
      partition: PARTITION,
      baselineOutput: join(baseline.dir, 'data/out'),
    });
    expect(view.version).toBe(Math.max(...winners.map((w) => w.json.version)));
  }

  it('two runs started together end with one complete version published and the loser superseded without a trace', async () => {
    for (let round = 0; round < 2; round++) {
      const runs = await race(tp);
      await assertOneWinnerAtATime(runs);
    }
  });

  it('a slow run (one thread) raced by a fast one never publishes over it on a stale base', async () => {
    const runs = await race(tp, [
      ['--threads', '1'],
      ['--threads', '2'],
    ]);
    await assertOneWinnerAtATime(runs);
  });

  /** Publish a first version in-process if none is (each test may run alone). */
  async function ensurePublished(ctx: Awaited<ReturnType<TestProject['open']>>): Promise<void> {
    if (await ctx.store.publishedVersion(ANALYZER, PARTITION)) return;
    expect((await runPartition(ctx, getAnalyzer(ctx.project, ANALYZER), PARTITION)).status).toBe('succeeded');
  }

  /** A staged copy of the published version for an attempt recorded on `baseSeq`, as a slow attempt would have it. */
  async function stageCopy(
    store: StateStore,
    layout: OutputLayout,
    attemptId: string,
    baseSeq: number,
  ): Promise<StagedVersion> {
    const published = (await store.publishedVersion(ANALYZER, PARTITION))!;
    const stagingDir = layout.stagingDir(attemptId);
    cpSync(published.dir, stagingDir, { recursive: true });
    rmSync(join(stagingDir, '_SUCCESS'), { force: true });
    const manifest = readManifest(stagingDir)!;
    const manifestSha256 = writeManifest(stagingDir, { ...manifest, version: baseSeq + 1, attemptId });
    return {
      analyzer: ANALYZER,
      partitionId: PARTITION,
      seq: baseSeq + 1,
      attemptId,
      stagingDir,
      versionDir: layout.versionDir(ANALYZER, PARTITION, baseSeq + 1),
      rows: published.rows,
      bytes: published.bytes,
      files: published.files,
      manifestSha256,
      inputFingerprint: published.input_fingerprint,
      sqlHash: published.sql_hash,
      engineVersion: published.engine_version,
      recountVersion: published.recount_version,
    };
  }

  async function beginSlowAttempt(
    store: StateStore,
    layout: OutputLayout,
  ): Promise<{ attemptId: string; baseSeq: number }> {
    const attemptId = newAttemptId();
    const { baseSeq } = await store.beginAttempt({
      runId: attemptId,
      attemptId,
      analyzer: ANALYZER,
      partitionId: PARTITION,
      trigger: 'test',
      pid: process.pid,
      host: HOST,
      procToken: currentProcToken(),
      threads: 1,
      memoryBytes: 100_000_000,
      stagingDir: layout.stagingDir(attemptId),
    });
    return { attemptId, baseSeq };
  }

  /**
   * The real state store, with `hook` run once right after the first call of `method` that `when` accepts:
   * the instant another process may begin an attempt, claim or finish a publish while this one recovers.
   */
  function hookAfter<M extends 'listAttempts' | 'pendingIntents'>(
    store: StateStore,
    method: M,
    hook: () => Promise<void>,
    when: (...args: Parameters<StateStore[M]>) => boolean = () => true,
  ): StateStore {
    let fired = false;
    return new Proxy(store, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop !== method) return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: Parameters<StateStore[M]>) => {
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (!fired && when(...args)) {
            fired = true;
            await hook();
          }
          return result;
        };
      },
    });
  }
  const afterRunningListed = (store: StateStore, hook: () => Promise<void>) =>
    hookAfter(store, 'listAttempts', hook, (filter) => filter.status === 'running');

  it('recovery leaves alone the staging of an attempt another live process began while it was recovering', async () => {
    const ctx = await tp.open();
    try {
      await ensurePublished(ctx);
      const layout = new OutputLayout(ctx.project.outputRoot);
      let live: { attemptId: string; baseSeq: number } | undefined;
      const report = await recover(
        afterRunningListed(ctx.store, async () => {
          live = await beginSlowAttempt(ctx.store, layout);
          await stageCopy(ctx.store, layout, live.attemptId, live.baseSeq);
        }),
        layout,
      );
      expect(live).toBeDefined();
      expect(report.removedStaging).not.toContain(live!.attemptId);
      expect(existsSync(join(layout.stagingDir(live!.attemptId), '_manifest.json'))).toBe(true);
      expect((await ctx.store.getAttempt(live!.attemptId))?.status).toBe('running');

      rmSync(layout.stagingDir(live!.attemptId), { recursive: true });
      await ctx.store.finishAttempt(live!.attemptId, {
        status: 'failed',
        error: { code: 'INTERNAL', message: 'test attempt' },
      });
      await assertNoOrphans(ctx.store, out());
    } finally {
      await ctx.close();
    }
  });

  it('recovery does not finish a publish whose live owner claimed it while recovery was running', async () => {
    const ctx = await tp.open();
    try {
      await ensurePublished(ctx);
      const layout = new OutputLayout(ctx.project.outputRoot);
      let owner: { attemptId: string; baseSeq: number; staged: StagedVersion; intent: PublishIntent } | undefined;
      const report = await recover(
        afterRunningListed(ctx.store, async () => {
          const a = await beginSlowAttempt(ctx.store, layout);
          const staged = await stageCopy(ctx.store, layout, a.attemptId, a.baseSeq);
          const claim = await ctx.store.claimPublish(staged, a.baseSeq);
          if (!claim.won) throw new Error(claim.reason);
          owner = { ...a, staged, intent: claim.intent };
        }),
        layout,
      );
      expect(owner).toBeDefined();
      expect(report.rolledForward).toEqual([]);
      expect((await ctx.store.pendingIntents()).map((i) => i.id)).toEqual([owner!.intent.id]);
      expect((await ctx.store.getAttempt(owner!.attemptId))?.status).toBe('running');

      // The owner finishes its own publish.
      expect(await applyIntent(ctx.store, layout, owner!.intent)).toBe(true);
      await ctx.store.finishAttempt(owner!.attemptId, { status: 'succeeded', versionSeq: owner!.staged.seq });
      expect((await assertPublishedComplete(out(), ANALYZER, PARTITION))?.version).toBe(owner!.staged.seq);
      await assertNoOrphans(ctx.store, out());
    } finally {
      await ctx.close();
    }
  });

  it('two runs started together right after a crash mid-publish both recover it and end on one complete version', async () => {
    const killed = tp.cli(['run', ANALYZER, '--partition', PARTITION], { RECOUNT_FAULT: 'after-claim' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const runs = await race(tp);
    await assertOneWinnerAtATime(runs);
  });

  it('a recovery that listed an interrupted publish another process then finished and superseded does not switch the link back', async () => {
    const killed = tp.cli(['run', ANALYZER, '--partition', PARTITION], { RECOUNT_FAULT: 'during-publish' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const ctx = await tp.open();
    try {
      const layout = new OutputLayout(ctx.project.outputRoot);
      let newer: number | undefined;
      await recover(
        hookAfter(ctx.store, 'pendingIntents', async () => {
          // Meanwhile another process recovers the same publish and publishes a newer version.
          await recover(ctx.store, layout);
          const r = await runPartition(ctx, getAnalyzer(ctx.project, ANALYZER), PARTITION);
          expect(r.status).toBe('succeeded');
          newer = r.version;
        }),
        layout,
      );
      expect((await assertPublishedComplete(out(), ANALYZER, PARTITION))?.version).toBe(newer);
      await assertNoOrphans(ctx.store, out());
    } finally {
      await ctx.close();
    }
  });

  it('an attempt whose base version was overtaken is refused by the compare-and-set and its staging is removed', async () => {
    const ctx = await tp.open();
    try {
      await ensurePublished(ctx);
      const layout = new OutputLayout(ctx.project.outputRoot);
      const slow = await beginSlowAttempt(ctx.store, layout);
      // Another attempt starts and publishes after the slow one began.
      const fast = await runPartition(ctx, getAnalyzer(ctx.project, ANALYZER), PARTITION);
      expect([fast.status, fast.version]).toEqual(['succeeded', slow.baseSeq + 1]);

      const staged = await stageCopy(ctx.store, layout, slow.attemptId, slow.baseSeq);
      const result = await publishVersion(ctx.store, layout, staged, slow.baseSeq);
      expect(result).toEqual({ published: false, reason: `another attempt published version ${fast.version} first` });
      expect(existsSync(staged.stagingDir)).toBe(false);
      expect(
        (await ctx.store.listVersions(ANALYZER, PARTITION)).filter((v) => v.attempt_id === slow.attemptId),
      ).toEqual([]);
      expect((await assertPublishedComplete(out(), ANALYZER, PARTITION))?.manifest.attemptId).toBe(fast.attemptId);

      await ctx.store.finishAttempt(slow.attemptId, {
        status: 'superseded',
        error: { code: 'PUBLISH_CONFLICT', message: result.published ? '' : result.reason },
      });
      await assertNoOrphans(ctx.store, out());
    } finally {
      await ctx.close();
    }
  });

  it('while one publish is in progress, a second claim on the same base is refused; the first then completes', async () => {
    const ctx = await tp.open();
    try {
      await ensurePublished(ctx);
      const layout = new OutputLayout(ctx.project.outputRoot);
      const first = await beginSlowAttempt(ctx.store, layout);
      const second = await beginSlowAttempt(ctx.store, layout);
      expect(second.baseSeq).toBe(first.baseSeq);
      const before = (await assertPublishedComplete(out(), ANALYZER, PARTITION))!;

      const stagedFirst = await stageCopy(ctx.store, layout, first.attemptId, first.baseSeq);
      const claim = await ctx.store.claimPublish(stagedFirst, first.baseSeq);
      expect(claim.won).toBe(true);

      const stagedSecond = await stageCopy(ctx.store, layout, second.attemptId, second.baseSeq);
      const lost = await publishVersion(ctx.store, layout, stagedSecond, second.baseSeq);
      expect(lost).toEqual({ published: false, reason: 'another publish of this partition is in progress' });
      expect(existsSync(stagedSecond.stagingDir)).toBe(false);
      // Nothing switched yet: the claim alone changes no file a reader sees.
      expect((await assertPublishedComplete(out(), ANALYZER, PARTITION))?.version).toBe(before.version);

      expect(await applyIntent(ctx.store, layout, claim.won ? claim.intent : (undefined as never))).toBe(true);
      const now = (await assertPublishedComplete(out(), ANALYZER, PARTITION))!;
      expect([now.version, now.success]).toEqual([first.baseSeq + 1, true]);

      await ctx.store.finishAttempt(first.attemptId, { status: 'succeeded', versionSeq: first.baseSeq + 1 });
      await ctx.store.finishAttempt(second.attemptId, {
        status: 'superseded',
        error: { code: 'PUBLISH_CONFLICT', message: lost.published ? '' : lost.reason },
      });
      await assertNoOrphans(ctx.store, out());
    } finally {
      await ctx.close();
    }
  });
});
