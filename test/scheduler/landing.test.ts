// Every way a partition lands is seen by the watcher at once (issue 14): the rescan runs once an hour here, so a
// partition that only a rescan would find is never published within the test.
import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, tempDir, type TestProject } from '../helpers/project.ts';
import { startServe, waitFor, type ServeProcess } from '../helpers/serve.ts';
import { generateEvents } from '../../src/gen/events.ts';
import { openStateStore } from '../../src/state/open.ts';
import type { StateStore } from '../../src/state/store.ts';

const NO_RESCAN = ['--scan-interval', '3600000'];

const CONFIG = `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  serve: { minWorkers: 1, maxWorkers: 2, lookbackHours: 1000000 },
  defaults: { memory: '1GB', threads: 1, files: 1 },
});
`;

const HOURLY = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({
  name: 'hourly', inputs: ['events'], grain: 'hour', start: '2023-10-12T00',
  sql: 'SELECT ad_id, count(*) AS n FROM events GROUP BY ad_id',
});
`;

/** One hour of events in a folder of its own outside the dataset, _SUCCESS included, ready to be moved in. */
async function hourFolder(hour: string): Promise<string> {
  const scratch = tempDir('recount-land-');
  await generateEvents({ out: scratch, start: hour, hours: 1, rowsPerHour: 500, seed: 3, ads: 20, threads: 1 });
  const dir = join(scratch, `dt=${hour.slice(0, 10)}`, `hour=${hour.slice(11, 13)}`);
  writeFileSync(join(dir, '_SUCCESS'), '');
  return dir;
}

describe('recount serve sees a partition however it lands', () => {
  let tp: TestProject | undefined;
  let serve: ServeProcess | undefined;
  let store: StateStore | undefined;

  afterEach(async () => {
    if (serve && serve.child.exitCode === null && serve.child.signalCode === null) await serve.kill();
    await store?.close();
    tp?.cleanup();
    tp = serve = store = undefined;
  });

  async function started(before?: (root: string) => void): Promise<{ root: string }> {
    tp = await makeProject({ examples: false, config: CONFIG, analyzers: { hourly: HOURLY }, hours: 0 });
    const root = join(tp.dir, 'data/events');
    mkdirSync(join(root, 'dt=2023-10-12'), { recursive: true });
    before?.(root);
    store = await openStateStore('sqlite:.recount/state.db', tp.dir);
    serve = startServe(tp, NO_RESCAN, { RECOUNT_LOG_LEVEL: 'debug' });
    return { root };
  }

  const watching = () =>
    waitFor('the watcher ready', () => serve!.logs().some((l) => l.msg === 'watching dataset folders'));
  const publishedBy = (partition: string) =>
    waitFor(
      `${partition} published`,
      async () => (await store!.publishedVersion('hourly', partition)) ?? false,
      60_000,
    );
  const seenByWatcher = (partition: string) =>
    serve!.logs().some((l) => l.msg === 'partition ready' && l.partition === partition);

  it('an hour folder renamed into place with _SUCCESS inside', async () => {
    const { root } = await started();
    await watching();
    renameSync(await hourFolder('2023-10-12T03'), join(root, 'dt=2023-10-12', 'hour=03'));
    await publishedBy('2023-10-12T03');
    expect(seenByWatcher('2023-10-12T03')).toBe(true);
  });

  it('a whole dt= folder renamed into place, its hours ready inside', async () => {
    const { root } = await started();
    await watching();
    const hour = await hourFolder('2023-10-13T07');
    renameSync(join(hour, '..'), join(root, 'dt=2023-10-13'));
    await publishedBy('2023-10-13T07');
    expect(seenByWatcher('2023-10-13T07')).toBe(true);
  });

  it('a partition copied in file by file, _SUCCESS last', async () => {
    const { root } = await started();
    await watching();
    const hour = await hourFolder('2023-10-12T09');
    const dest = join(root, 'dt=2023-10-12', 'hour=09');
    mkdirSync(dest);
    for (const f of readdirSync(hour).filter((f) => f !== '_SUCCESS')) cpSync(join(hour, f), join(dest, f));
    cpSync(join(hour, '_SUCCESS'), join(dest, '_SUCCESS'));
    await publishedBy('2023-10-12T09');
    expect(seenByWatcher('2023-10-12T09')).toBe(true);
  });

  it('a partition that lands while the watcher is still getting ready is picked up (a wide window: thousands of folders to watch)', async () => {
    const { root } = await started((r) => {
      // Empty hour folders of years past: nothing to run, but chokidar has to walk and watch every one first.
      for (let d = 0; d < 150; d++) {
        const day = new Date(Date.UTC(2020, 0, 1) + d * 86_400_000).toISOString().slice(0, 10);
        for (let h = 0; h < 24; h++)
          mkdirSync(join(r, `dt=${day}`, `hour=${String(h).padStart(2, '0')}`), { recursive: true });
      }
    });
    const hour = await hourFolder('2023-10-12T11');
    await waitFor('daemon start', () => serve!.logs().some((l) => l.msg === 'daemon started'));
    renameSync(hour, join(root, 'dt=2023-10-12', 'hour=11'));
    await publishedBy('2023-10-12T11');
    await watching();
  });
});
