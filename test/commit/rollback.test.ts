import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lstatSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { makeProject, readPublished, type TestProject } from '../helpers/project.ts';
import { runPartition, type RunContext } from '../../src/run/runPartition.ts';
import { getAnalyzer, type Analyzer } from '../../src/config/project.ts';
import { rollbackPartition } from '../../src/commit/rollback.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { generateEvents } from '../../src/gen/events.ts';
import { RecountError } from '../../src/errors.ts';

// Each version is made from different input (a new seed), so the rows tell the versions apart.
const COUNTS = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'counts', inputs: ['events'], grain: 'hour', files: 2, keepVersions: 3,
  sql: "SELECT ad_id, count(*)::BIGINT AS n FROM events GROUP BY ad_id" });`;
const P = '2023-10-12T00';

describe('rollback', () => {
  let tp: TestProject;
  let ctx: RunContext & { close(): Promise<void> };
  let a: Analyzer;
  let layout: OutputLayout;
  const rowsOf: Record<number, string> = {};

  const published = () => join(tp.dir, 'data/out/counts/dt=2023-10-12/hour=00');
  const publishedRows = async () =>
    JSON.stringify((await readPublished(published(), ['ad_id'])).map(({ _file, ...r }) => r));
  const manifestVersion = () => JSON.parse(readFileSync(join(published(), '_manifest.json'), 'utf8')).version as number;

  async function runWithSeed(seed: number): Promise<number> {
    await generateEvents({
      out: join(tp.dir, 'data/events'),
      start: P,
      hours: 1,
      rowsPerHour: 2000,
      seed,
      ads: 50,
      threads: 1,
    });
    const r = await runPartition(ctx, a, P);
    expect(r.error).toBeUndefined();
    rowsOf[r.version!] = await publishedRows();
    return r.version!;
  }

  async function rollbackError(version?: number): Promise<RecountError> {
    const e = await rollbackPartition(ctx.store, layout, 'counts', P, version).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(RecountError);
    return e as RecountError;
  }

  beforeAll(async () => {
    tp = await makeProject({ hours: 0, examples: false, analyzers: { counts: COUNTS } });
    ctx = await tp.open();
    a = getAnalyzer(ctx.project, 'counts');
    layout = new OutputLayout(ctx.project.outputRoot);
  });
  afterAll(async () => {
    await ctx?.close();
    tp?.cleanup();
  });

  it('with one version there is nothing older to roll back to', async () => {
    expect(await runWithSeed(1)).toBe(1);
    const e = await rollbackError();
    expect(e.code).toBe('VERSION_NOT_FOUND');
    expect(e.message).toContain('no older version');
    expect(e.hint).toBe('versions kept: v1 (published)');
  });

  it('rolls back to the previous version: the link, the manifest, the rows and the state all switch', async () => {
    expect(await runWithSeed(2)).toBe(2);
    expect(await runWithSeed(3)).toBe(3);
    expect(new Set(Object.values(rowsOf)).size).toBe(3);

    const r = await rollbackPartition(ctx.store, layout, 'counts', P);
    expect(r).toEqual({ from: 3, to: 2 });
    expect(lstatSync(published()).isSymbolicLink()).toBe(true);
    expect(realpathSync(published())).toBe(realpathSync(layout.versionDir('counts', P, 2)));
    // The link is relative, so the output root can move as a whole.
    expect(resolve(dirname(published()), readlinkSync(published()))).toBe(layout.versionDir('counts', P, 2));
    expect(manifestVersion()).toBe(2);
    expect(await publishedRows()).toBe(rowsOf[2]);
    expect((await ctx.store.getPartition('counts', P))!.published_seq).toBe(2);
    const statuses = (await ctx.store.listVersions('counts', P)).map((v) => [v.seq, v.status]);
    expect(statuses).toEqual([
      [3, 'retained'],
      [2, 'published'],
      [1, 'retained'],
    ]);
  });

  it('rolls to a named version, forwards as well as back', async () => {
    expect(await rollbackPartition(ctx.store, layout, 'counts', P, 1)).toEqual({ from: 2, to: 1 });
    expect(await publishedRows()).toBe(rowsOf[1]);
    expect(await rollbackPartition(ctx.store, layout, 'counts', P, 3)).toEqual({ from: 1, to: 3 });
    expect(await publishedRows()).toBe(rowsOf[3]);
    expect(manifestVersion()).toBe(3);
  });

  it('naming the published version changes nothing', async () => {
    expect(await rollbackPartition(ctx.store, layout, 'counts', P, 3)).toEqual({ from: 3, to: 3 });
    expect(await publishedRows()).toBe(rowsOf[3]);
  });

  it('a version that never existed is VERSION_NOT_FOUND (exit 2) listing the kept versions', async () => {
    const e = await rollbackError(9);
    expect(e.code).toBe('VERSION_NOT_FOUND');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('there is no version 9');
    expect(e.hint).toBe('versions kept: v3 (published), v2, v1');
  });

  it('a new run after a rollback gets the next version number, never reusing one', async () => {
    await rollbackPartition(ctx.store, layout, 'counts', P, 1);
    expect(await runWithSeed(4)).toBe(4);
    expect(await publishedRows()).toBe(rowsOf[4]);
  });

  it('a version pruned beyond keepVersions is no longer kept, and says how to keep more', async () => {
    const statuses = (await ctx.store.listVersions('counts', P)).map((v) => [v.seq, v.status]);
    expect(statuses).toEqual([
      [4, 'published'],
      [3, 'retained'],
      [2, 'retained'],
      [1, 'deleted'],
    ]);
    const e = await rollbackError(1);
    expect(e.code).toBe('VERSION_NOT_FOUND');
    expect(e.message).toContain('version 1 is no longer kept');
    expect(e.hint).toContain('keepVersions');
    expect(await publishedRows()).toBe(rowsOf[4]);
  });

  it('a partition that never ran has nothing to roll back', async () => {
    const e = await rollbackPartition(ctx.store, layout, 'counts', '2023-10-12T05').then(
      () => undefined,
      (x: unknown) => x as RecountError,
    );
    expect(e?.code).toBe('VERSION_NOT_FOUND');
    expect(e?.hint).toBe('versions kept: none');
  });
});
