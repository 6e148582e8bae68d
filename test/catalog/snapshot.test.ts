import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { getAnalyzer } from '../../src/config/project.ts';
import { parsePartition } from '../../src/catalog/partition.ts';
import { resolveInput, snapshotPartition } from '../../src/catalog/dataset.ts';
import { runPartition, type RunContext } from '../../src/run/runPartition.ts';
import { checkInputFiles, createInputViews, explainQueryError } from '../../src/run/inputs.ts';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import { versionTag } from '../../src/layout/bucketing.ts';
import { RecountError } from '../../src/errors.ts';
import { makeProject, tempDir, type TestProject } from '../helpers/project.ts';

// Snapshot reads (I1): an analyzer's output, read as another analyzer's input, is resolved once to the version
// folder its link points at, and read from that version's manifest.
const H = 'ad_impressions_hourly';
const T00 = '2023-10-12T00';

describe('reading an analyzer output as an input', () => {
  let tp: TestProject;
  let ctx: RunContext & { close(): Promise<void> };
  beforeAll(async () => {
    tp = await makeProject({
      hours: 1,
      rowsPerHour: 3000,
      config: `import { defineConfig } from 'recount';
export default defineConfig({ datasets: { events: { root: 'data/events', grain: 'hour' } }, output: 'data/out', keepVersions: 1, defaults: { memory: '1GB', threads: 1, files: 'auto' } });`,
    });
    ctx = await tp.open();
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    tp?.cleanup();
  });

  it('resolves the published link once: real paths of one version, named with its version and attempt; a later publish does not change them', async () => {
    const a = getAnalyzer(ctx.project, H);
    const v1 = await runPartition(ctx, a, T00);
    expect(v1.error).toBeUndefined();
    const ds = ctx.project.datasets.get(H)!;
    const p = parsePartition(T00, 'hour');
    const snap = snapshotPartition(ds, p);
    expect(snap.dir).toBe(realpathSync(join(tp.dir, 'data/out', H, 'dt=2023-10-12/hour=00')));
    expect(snap.version).toEqual({ analyzer: H, partition: T00, version: 1, attemptId: v1.attemptId });
    expect(snap.files).toHaveLength(4);
    for (const f of snap.files) {
      expect(f.absPath.startsWith(`${snap.dir}/`)).toBe(true);
      expect(f.path).toMatch(new RegExp(`^dt=2023-10-12/hour=00/part-0000\\d-${versionTag(v1.attemptId)}\\.parquet$`));
    }
    const input1 = resolveInput(ds, parsePartition('2023-10-12T00', 'hour'));
    expect(input1.versions).toEqual([snap.version]);

    const v2 = await runPartition(ctx, a, T00);
    expect(v2.version).toBe(2);
    // What was resolved before still names v1's files (the version folder is immutable); a new resolve gives v2's.
    expect(snap.files.every((f) => f.absPath.includes('/v000001/'))).toBe(true);
    const input2 = resolveInput(ds, parsePartition('2023-10-12T00', 'hour'));
    expect(input2.versions).toEqual([{ analyzer: H, partition: T00, version: 2, attemptId: v2.attemptId }]);
    expect(input2.fingerprint).not.toBe(input1.fingerprint);
  });

  it("an input version pruned while it is read is PARTITION_NOT_READY (retried), never 'corrupt' and never another version's file", async () => {
    const ds = ctx.project.datasets.get(H)!;
    const input = resolveInput(ds, parsePartition(T00, 'hour'));
    const session = await new DuckDBEngine().open({
      memoryBytes: 300_000_000,
      threads: 1,
      spillDir: tempDir('recount-spill-'),
    });
    try {
      const checked = await checkInputFiles(session, input);
      await createInputViews(session, [checked], parsePartition(T00, 'hour'));
      // The prune of the resolved version (keepVersions: 1, after a newer publish), as it would happen mid-run.
      const v3 = await runPartition(ctx, getAnalyzer(ctx.project, H), T00);
      expect(v3.error).toBeUndefined();
      rmSync(input.files[0]!.absPath, { force: true });
      let err: unknown;
      try {
        await session.query(`SELECT count(*) FROM ${H}`);
      } catch (e) {
        err = e;
      }
      expect(err, 'reading a removed version fails loudly').toBeDefined();
      const explained = explainQueryError(err, 'analyzers/daily.ts', parsePartition('2023-10-12', 'day'), [checked]);
      expect(explained).toBeInstanceOf(RecountError);
      expect(explained.code).toBe('PARTITION_NOT_READY');
      expect(explained.hint).toContain('rerun');
    } finally {
      session.close();
    }
  });
});
