import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/commit/manifest.ts';
import { getAnalyzer } from '../../src/config/project.ts';
import { installedEngineVersion } from '../../src/layout/engineScheme.ts';
import { isUpToDate, layoutChange } from '../../src/run/fingerprint.ts';
import { runPartition, type RunContext } from '../../src/run/runPartition.ts';
import { parsePartition } from '../../src/catalog/partition.ts';
import { duck, makeProject, type TestProject } from '../helpers/project.ts';

const A = 'ad_impressions_hourly';
const P = '2023-10-12T00';

// I3: the key -> file rule is the engine's own hash, so it is tied to the engine's version. A version laid out by
// another DuckDB (whose hash() may differ) is a layout change: rerun although input and SQL are unchanged.
describe('the layout scheme names the engine and its version', () => {
  let tp: TestProject;
  let ctx: RunContext & { close(): Promise<void> };
  let dir: string;
  const manifestPath = () => join(dir, '_manifest.json');
  const edit = (f: (m: any) => void) => {
    const m = JSON.parse(readFileSync(manifestPath(), 'utf8'));
    f(m);
    writeFileSync(manifestPath(), JSON.stringify(m, null, 2));
  };

  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 2_000 });
    ctx = await tp.open();
    const r = await runPartition(ctx, getAnalyzer(ctx.project, A), P);
    expect(r.error).toBeUndefined();
    dir = (await ctx.store.getVersion(A, P, r.version!))!.dir;
  });
  afterAll(async () => {
    await ctx.close();
    tp.cleanup();
  });

  it("the manifest's layout records the engine and the version its sessions report", async () => {
    const m = JSON.parse(readFileSync(manifestPath(), 'utf8')) as Manifest;
    const [row] = await duck<{ v: string }>('SELECT version() AS v');
    expect(installedEngineVersion('duckdb')).toBe(row!.v);
    expect(m.layout).toMatchObject({ engine: 'duckdb', engineVersion: row!.v });
    expect(await isUpToDate(ctx.store, ctx.project, getAnalyzer(ctx.project, A), parsePartition(P, 'hour'))).toBe(true);
  });

  it('a version laid out by another engine version is not up to date: a layout change', async () => {
    const a = getAnalyzer(ctx.project, A);
    const current = installedEngineVersion('duckdb')!;
    edit((m) => (m.layout.engineVersion = 'v1.4.0'));
    expect(await isUpToDate(ctx.store, ctx.project, a, parsePartition(P, 'hour'))).toBe(false);
    expect(layoutChange(a, dir)).toContain(`laid out by duckdb v1.4.0, the installed duckdb is ${current}`);
    // A manifest from before the layout named its engine: its provenance says which.
    edit((m) => {
      delete m.layout.engine;
      delete m.layout.engineVersion;
      m.provenance.engineVersion = 'v1.4.0';
    });
    expect(await isUpToDate(ctx.store, ctx.project, a, parsePartition(P, 'hour'))).toBe(false);
    edit((m) => (m.provenance.engineVersion = current));
    expect(await isUpToDate(ctx.store, ctx.project, a, parsePartition(P, 'hour'))).toBe(true);
  });

  it('backfill reruns such a partition and tells the user why', async () => {
    edit((m) => (m.layout = { ...m.layout, engine: 'duckdb', engineVersion: 'v1.4.0' }));
    const r = tp.cli(['backfill', A, '--from', P, '--to', P]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toMatch(
      /a layout change, rerun although its input and SQL are unchanged: v1 its files were laid out by duckdb v1\.4\.0/,
    );
    expect(r.stdout).toMatch(/1 published, 0 already up to date/);
  });
});
