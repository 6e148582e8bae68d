import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { makeProject, REPO, type TestProject } from '../helpers/project.ts';
import { runPartition, type RunContext } from '../../src/run/runPartition.ts';
import { getAnalyzer } from '../../src/config/project.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { applyIntent } from '../../src/commit/publish.ts';
import { generateEvents } from '../../src/gen/events.ts';

// Two recoveries of the same dead publish intent, started at the same instant in two threads (each with its own
// state store connection), both finish it: moving the staged files is a step the other may have done a moment
// before, never an ENOENT and never an abandoned intent whose version is then published anyway.

const COUNTS = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'counts', inputs: ['events'], grain: 'hour', files: 2, keepVersions: 100,
  sql: "SELECT ad_id, count(*)::BIGINT AS n FROM events GROUP BY ad_id" });`;
const P = '2023-10-12T00';
const ROUNDS = 24;
const THREADS = 2;

describe('concurrent recoveries of one dead intent', () => {
  let tp: TestProject;
  let ctx: RunContext & { close(): Promise<void> };

  beforeAll(async () => {
    tp = await makeProject({ hours: 0, examples: false, analyzers: { counts: COUNTS } });
    await generateEvents({
      out: join(tp.dir, 'data/events'),
      start: P,
      hours: 1,
      rowsPerHour: 300,
      seed: 1,
      ads: 20,
      threads: 1,
    });
    ctx = await tp.open();
    expect((await runPartition(ctx, getAnalyzer(ctx.project, 'counts'), P)).status).toBe('succeeded');
  });
  afterAll(async () => {
    await ctx?.close();
    tp?.cleanup();
  });

  /** A staged version and its pending publish intent whose process is gone: what a kill at after-claim leaves. */
  async function deadIntent(
    round: number,
  ): Promise<{ id: number; seq: number; stagingDir: string; versionDir: string }> {
    const layout = new OutputLayout(ctx.project.outputRoot);
    const p = (await ctx.store.getPartition('counts', P))!;
    const seq = Number(p.seq) + 1;
    const attemptId = `dead-${round}`;
    const stagingDir = layout.stagingDir(attemptId);
    cpSync(layout.versionDir('counts', P, 1), stagingDir, { recursive: true });
    const v1 = (await ctx.store.getVersion('counts', P, 1))!;
    const claim = await ctx.store.claimPublish(
      {
        analyzer: 'counts',
        partitionId: P,
        seq,
        attemptId,
        stagingDir,
        versionDir: layout.versionDir('counts', P, seq),
        rows: Number(v1.rows),
        bytes: Number(v1.bytes),
        files: Number(v1.files),
        manifestSha256: v1.manifest_sha256,
        inputFingerprint: v1.input_fingerprint,
        sqlHash: v1.sql_hash,
        engineVersion: v1.engine_version,
        recountVersion: v1.recount_version,
      },
      Number(p.seq),
    );
    if (!claim.won) throw new Error(claim.reason);
    return { id: claim.intent.id, seq, stagingDir, versionDir: claim.intent.version_dir };
  }

  /** Finish the intent in every thread at the same instant; each thread's outcome. */
  async function raceRecoveries(workers: Worker[], intentId: number): Promise<Array<{ ok?: boolean; error?: string }>> {
    const barrier = new SharedArrayBuffer(4);
    const ready = workers.map((w) => nextMessage(w));
    for (const w of workers) w.postMessage({ intentId, barrier });
    await Promise.all(ready);
    const results = workers.map((w) => nextMessage(w));
    const flag = new Int32Array(barrier);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    return Promise.all(results);
  }

  it(`${THREADS} threads finishing the same intent at once, ${ROUNDS} times: every one succeeds and the version is published whole`, async () => {
    const layout = new OutputLayout(ctx.project.outputRoot);
    const workers = Array.from(
      { length: THREADS },
      () =>
        new Worker(join(REPO, 'test/helpers/applyIntentThread.mjs'), {
          execArgv: [],
          workerData: { stateUrl: 'sqlite:.recount/state.db', projectDir: tp.dir, outputRoot: ctx.project.outputRoot },
        }),
    );
    const started = workers.map((w) => nextMessage(w));
    await Promise.all(started);
    try {
      await rounds(workers, layout);
    } finally {
      for (const w of workers) w.postMessage({ close: true });
      await Promise.all(workers.map((w) => new Promise((r) => w.once('exit', r))));
    }
  });

  it('a recovery that listed the intent before another finished it, and a newer version was published since, leaves the link on the newer one', async () => {
    const layout = new OutputLayout(ctx.project.outputRoot);
    const dead = await deadIntent(1000);
    const stale = (await ctx.store.pendingIntents()).find((i) => i.id === dead.id)!;
    expect(await applyIntent(ctx.store, layout, stale, { recovering: true })).toBe(true);
    const newer = await runPartition(ctx, getAnalyzer(ctx.project, 'counts'), P);
    expect(newer.status).toBe('succeeded');
    // The slower recovery gets to the same intent only now.
    expect(await applyIntent(ctx.store, layout, stale, { recovering: true })).toBe(true);
    expect((await ctx.store.getPartition('counts', P))?.published_seq).toBe(newer.version);
    expect(realpathSync(layout.publishedPath('counts', P))).toBe(
      realpathSync(layout.versionDir('counts', P, newer.version!)),
    );
  });

  async function rounds(workers: Worker[], layout: OutputLayout): Promise<void> {
    for (let round = 0; round < ROUNDS; round++) {
      const dead = await deadIntent(round);
      const results = await raceRecoveries(workers, dead.id);
      expect(
        results.filter((r) => r.error).map((r) => r.error),
        `round ${round}`,
      ).toEqual([]);
      expect(
        results.map((r) => r.ok),
        `round ${round}`,
      ).toEqual(Array(THREADS).fill(true));
      expect(await ctx.store.pendingIntents()).toEqual([]);
      expect((await ctx.store.getPartition('counts', P))?.published_seq).toBe(dead.seq);
      expect((await ctx.store.getVersion('counts', P, dead.seq))?.status).toBe('published');
      expect(existsSync(dead.stagingDir)).toBe(false);
      expect(readdirSync(dead.versionDir).sort()).toEqual(expect.arrayContaining(['_SUCCESS', '_manifest.json']));
      expect(realpathSync(layout.publishedPath('counts', P))).toBe(realpathSync(dead.versionDir));
    }
  }
});

/** The next message a worker posts (rejects if it fails or exits first). */
function nextMessage(w: Worker): Promise<{ ok?: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`worker thread exited with ${code}`));
    w.once('message', (m) => {
      w.off('exit', onExit);
      resolve(m);
    });
    w.once('error', reject);
    w.once('exit', onExit);
  });
}
