import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, tempDir, type TestProject } from '../helpers/project.ts';
import { startServe } from '../helpers/serve.ts';
import { assertNoOrphans, assertPublishedComplete } from '../helpers/invariants.ts';
import { generateEvents } from '../../src/gen/events.ts';
import { openStateStore } from '../../src/state/open.ts';
import type { StateStore } from '../../src/state/store.ts';

// An operator's rollback sticks under `recount serve`: the daemon (and backfill without --force) leaves a held
// partition at the version rolled back to although the definition changed, until `recount release` or new input.

const CONFIG = `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  serve: { minWorkers: 1, maxWorkers: 1, scanIntervalMs: 400, lookbackHours: 1000000 },
  defaults: { memory: '1GB', threads: 1, files: 'auto' },
});
`;
const COUNTS = (factor: number) => `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'counts', inputs: ['events'], grain: 'hour', start: '2023-10-12T00', files: 2,
  sql: "SELECT ad_id, (count(*) * ${factor})::BIGINT AS n FROM events GROUP BY ad_id" });
`;
const P = '2023-10-12T00';

async function landHour(tp: TestProject, seed: number): Promise<void> {
  const scratch = tempDir('recount-land-');
  await generateEvents({ out: scratch, start: P, hours: 1, rowsPerHour: 1000, seed, ads: 30, threads: 1 });
  const rel = 'dt=2023-10-12/hour=00';
  const dest = join(tp.dir, 'data/events', rel);
  mkdirSync(dest, { recursive: true });
  rmSync(join(dest, '_SUCCESS'), { force: true });
  renameSync(join(scratch, rel, 'part-00000.parquet'), join(dest, 'part-00000.parquet'));
  writeFileSync(join(dest, '_SUCCESS'), '');
  rmSync(scratch, { recursive: true, force: true });
}

describe('a rollback holds its partition', () => {
  let tp: TestProject;
  let store: StateStore;
  const out = () => join(tp.dir, 'data/out');
  const published = async () => (await store.getPartition('counts', P))?.published_seq;
  const serveUntilIdle = async () => {
    // RECOUNT_NO_BUNDLE: the daemon's workers run this checkout's sources, never a bundle cached under a shared node_modules.
    const s = startServe(tp, ['--until-idle'], { RECOUNT_NO_BUNDLE: '1' });
    const { code } = await s.exited();
    expect(
      code,
      JSON.stringify(
        s
          .logs()
          .filter((l) => l.raw || l.level >= 40)
          .slice(0, 30),
      ),
    ).toBe(0);
    return s.logs();
  };

  beforeAll(async () => {
    tp = await makeProject({ examples: false, config: CONFIG, analyzers: { counts: COUNTS(1) }, hours: 0 });
    await landHour(tp, 1);
    store = await openStateStore('sqlite:.recount/state.db', tp.dir);
  });
  afterAll(async () => {
    await store?.close();
    tp?.cleanup();
  });

  it('recount serve and backfill leave a held partition at the version rolled back to although the SQL changed', async () => {
    expect(tp.cli(['run', 'counts', '--partition', P]).code).toBe(0);
    writeFileSync(join(tp.dir, 'analyzers/counts.ts'), COUNTS(2));
    expect(tp.cli(['run', 'counts', '--partition', P]).code).toBe(0);
    expect(await published()).toBe(2);

    const rb = tp.cli(['--json', 'rollback', 'counts', '--partition', P, '--version', '1']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.json).toMatchObject({ ok: true, from: 2, to: 1, held: { version: 1 } });

    await serveUntilIdle();
    expect(await published()).toBe(1);
    expect((await store.listVersions('counts', P)).map((v) => v.seq)).toEqual([2, 1]);

    const bf = tp.cli(['--json', 'backfill', 'counts', '--from', P, '--to', P]);
    expect(bf.code, bf.stderr).toBe(0);
    expect(bf.json).toMatchObject({ held: [P], succeeded: 0 });
    expect(await published()).toBe(1);

    // Shown by status, in the analyzer view and the partition view.
    const st = tp.cli(['--json', 'status', 'counts']);
    expect(st.json.partitions).toMatchObject([{ partition: P, publishedVersion: 1, heldVersion: 1 }]);
    const sp = tp.cli(['--json', 'status', 'counts', '--partition', P]);
    expect(sp.json.held).toMatchObject({ version: 1 });
    expect(tp.cli(['status', 'counts']).stdout).toContain('held by a rollback');
    await assertNoOrphans(store, out());
  });

  it('recount release ends the hold; the daemon then publishes the current definition', async () => {
    const rel = tp.cli(['--json', 'release', 'counts', '--partition', P]);
    expect(rel.code, rel.stderr).toBe(0);
    expect(rel.json).toMatchObject({ ok: true, released: { version: 1 } });
    const again = tp.cli(['--json', 'release', 'counts', '--partition', P]);
    expect(again.code).toBe(2);
    expect(again.stdout + again.stderr).toContain('PARTITION_NOT_HELD');

    await serveUntilIdle();
    expect(await published()).toBe(3);
    expect((await store.getPartition('counts', P))?.held_seq).toBeNull();
    expect((await assertPublishedComplete(out(), 'counts', P))?.version).toBe(3);
  });

  it('new input releases the hold (logged), and the daemon publishes it', async () => {
    expect(tp.cli(['rollback', 'counts', '--partition', P, '--version', '2']).code).toBe(0);
    expect((await store.getPartition('counts', P))?.held_seq).toBe(2);
    await landHour(tp, 2);
    const logs = await serveUntilIdle();
    expect(logs.some((l) => String(l.msg).startsWith('hold of a rollback released: its input changed'))).toBe(true);
    expect(await published()).toBe(4);
    expect((await store.getPartition('counts', P))?.held_seq).toBeNull();
    await assertNoOrphans(store, out());
  });
});
