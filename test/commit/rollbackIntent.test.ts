import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { assertPublishedComplete } from '../helpers/invariants.ts';
import { runPartition, type RunContext } from '../../src/run/runPartition.ts';
import { getAnalyzer, type Analyzer } from '../../src/config/project.ts';
import { finishRollback } from '../../src/commit/rollback.ts';
import { applyIntent, pruneVersions } from '../../src/commit/publish.ts';
import { recover } from '../../src/commit/recovery.ts';
import { HOST } from '../../src/process/identity.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { generateEvents } from '../../src/gen/events.ts';

// A rollback's intent is owned by the process that runs it and fenced like a publish's: recovery leaves it alone
// while that process lives, finishes it when it died, and a rollback whose intent was abandoned does not report
// success. Pruning never deletes the target of a pending intent.

const COUNTS = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'counts', inputs: ['events'], grain: 'hour', files: 2, keepVersions: 3,
  sql: "SELECT ad_id, count(*)::BIGINT AS n FROM events GROUP BY ad_id" });`;
const P = '2023-10-12T00';
/** A token no live process has on this host (pid beyond the kernel's maximum). */
const DEAD = { host: HOST, token: '99999999:1' };

describe('rollback intents and pruning', () => {
  let tp: TestProject;
  let ctx: RunContext & { close(): Promise<void> };
  let a: Analyzer;
  let layout: OutputLayout;
  const out = () => join(tp.dir, 'data/out');

  async function publishWithSeed(seed: number): Promise<number> {
    await generateEvents({
      out: join(tp.dir, 'data/events'),
      start: P,
      hours: 1,
      rowsPerHour: 1000,
      seed,
      ads: 30,
      threads: 1,
    });
    const r = await runPartition(ctx, a, P);
    expect(r.error).toBeUndefined();
    return r.version!;
  }
  const versionDir = (seq: number) => layout.versionDir('counts', P, seq);
  const published = async () => (await ctx.store.getPartition('counts', P))?.published_seq;

  beforeAll(async () => {
    tp = await makeProject({ hours: 0, examples: false, analyzers: { counts: COUNTS } });
    ctx = await tp.open();
    a = getAnalyzer(ctx.project, 'counts');
    layout = new OutputLayout(ctx.project.outputRoot);
    for (const seed of [1, 2, 3]) await publishWithSeed(seed);
  });
  afterAll(async () => {
    await ctx?.close();
    tp?.cleanup();
  });

  it('pruning keeps the target of a pending rollback, which then publishes whole', async () => {
    expect(await published()).toBe(3);
    const claim = await ctx.store.claimRollback('counts', P, 1, versionDir(1));
    expect(claim.won).toBe(true);
    if (!claim.won) return;
    // A publish's prune running while the rollback is between its claim and its switch.
    const removed = await pruneVersions(ctx.store, 'counts', P, 1);
    expect(removed).toEqual([2]);
    expect((await ctx.store.getVersion('counts', P, 1))?.status).toBe('retained');
    expect(existsSync(join(versionDir(1), '_manifest.json'))).toBe(true);
    expect(await applyIntent(ctx.store, layout, claim.intent)).toBe(true);
    expect((await assertPublishedComplete(out(), 'counts', P))?.version).toBe(1);
    expect(await published()).toBe(1);
  });

  it('recovery leaves the intent of a live rollback alone; the rollback then finishes it', async () => {
    expect(await publishWithSeed(4)).toBe(4);
    const claim = await ctx.store.claimRollback('counts', P, 1, versionDir(1));
    expect(claim.won).toBe(true);
    if (!claim.won) return;
    expect([claim.intent.owner_host, claim.intent.owner_token?.split(':')[0]]).toEqual([HOST, String(process.pid)]);
    // Another command starts meanwhile: its recovery must not apply (or abandon) this process's rollback.
    const r = await recover(ctx.store, layout);
    expect(r.rolledForward).toEqual([]);
    expect(r.abandoned).toEqual([]);
    expect((await ctx.store.pendingIntents()).map((i) => i.id)).toEqual([claim.intent.id]);
    expect((await assertPublishedComplete(out(), 'counts', P))?.version).toBe(4);
    await finishRollback(ctx.store, layout, claim.intent);
    expect(await published()).toBe(1);
    expect((await assertPublishedComplete(out(), 'counts', P))?.version).toBe(1);
  });

  it('recovery finishes the intent of a rollback whose process died', async () => {
    const claim = await ctx.store.claimRollback('counts', P, 4, versionDir(4), { owner: DEAD });
    expect(claim.won).toBe(true);
    const r = await recover(ctx.store, layout);
    expect(r.rolledForward).toEqual(['counts 2023-10-12T00 v4']);
    expect(await published()).toBe(4);
    expect((await assertPublishedComplete(out(), 'counts', P))?.version).toBe(4);
  });

  it('a rollback whose intent was abandoned meanwhile reports a failure, not success', async () => {
    const claim = await ctx.store.claimRollback('counts', P, 1, versionDir(1), { owner: DEAD });
    expect(claim.won).toBe(true);
    if (!claim.won) return;
    // Its files went, and a recovery that took the owner for dead abandoned the intent.
    rmSync(versionDir(1), { recursive: true, force: true });
    expect((await recover(ctx.store, layout)).abandoned).toEqual(['counts 2023-10-12T00 v1']);
    await expect(finishRollback(ctx.store, layout, claim.intent)).rejects.toMatchObject({ code: 'PUBLISH_CONFLICT' });
    expect(await published()).toBe(4);
    expect((await ctx.store.getPartition('counts', P))?.held_seq).toBeNull();
    expect((await assertPublishedComplete(out(), 'counts', P))?.version).toBe(4);
  });
});
