import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { startServe, waitFor, type ServeProcess } from '../helpers/serve.ts';
import { generateEvents } from '../../src/gen/events.ts';
import { OutputLayout } from '../../src/commit/paths.ts';

// A recovery that fails after an attempt (here: the staging root is a file, so listing it throws ENOTDIR) is
// logged by the daemon, which keeps running; it never dies of an unhandled rejection.

const CONFIG = `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  serve: { minWorkers: 1, maxWorkers: 1, scanIntervalMs: 400, lookbackHours: 1000000 },
  defaults: { memory: '1GB', threads: 1, files: 'auto' },
});
`;
const COUNTS = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'counts', inputs: ['events'], grain: 'hour', start: '2023-10-12T00', files: 2,
  retries: { max: 2, backoffMs: 100, maxBackoffMs: 200 },
  sql: "SELECT ad_id, count(*)::BIGINT AS n FROM events GROUP BY ad_id" });
`;

describe('recount serve when recovery fails after an attempt', () => {
  let tp: TestProject;
  let serve: ServeProcess | undefined;

  beforeAll(async () => {
    tp = await makeProject({ examples: false, config: CONFIG, analyzers: { counts: COUNTS }, hours: 0 });
  });
  afterAll(async () => {
    if (serve && serve.child.exitCode === null && serve.child.signalCode === null) await serve.kill();
    tp?.cleanup();
  });

  it('logs the failure and keeps running; it stops cleanly afterwards', async () => {
    serve = startServe(tp, [], { RECOUNT_NO_BUNDLE: '1' });
    await waitFor('daemon start', () => serve!.logs().some((l) => l.msg === 'daemon started'));
    const staging = new OutputLayout(join(tp.dir, 'data/out')).stagingRoot;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(dirname(staging), { recursive: true });
    writeFileSync(staging, 'not a folder');
    await generateEvents({
      out: join(tp.dir, 'data/events'),
      start: '2023-10-12T00',
      hours: 1,
      rowsPerHour: 500,
      seed: 1,
      ads: 20,
      threads: 1,
    });

    await waitFor(
      'the attempt to end',
      () =>
        serve!.logs().some((l) => l.msg === 'attempt failed; will retry' || l.msg === 'run failed for good') ||
        serve!.child.exitCode !== null,
      90_000,
    );
    await waitFor(
      'a recovery failure logged after an attempt',
      () =>
        serve!.logs().some((l) => l.msg === 'recovery failed; the next rescan retries it') ||
        serve!.child.exitCode !== null,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(
      serve.child.exitCode,
      JSON.stringify(
        serve
          .logs()
          .filter((l) => l.raw)
          .slice(0, 20),
      ),
    ).toBeNull();
    expect(serve.child.signalCode).toBeNull();

    rmSync(staging, { force: true });
    expect(await serve.stop()).toBe(0);
  });
});
