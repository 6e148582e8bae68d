import { afterEach } from 'vitest';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEvents } from '../../src/gen/events.ts';
import type { StateStore } from '../../src/state/store.ts';
import { tempDir, type TestProject } from './project.ts';
import type { ServeProcess } from './serve.ts';

/** recount.config.ts of a serve test project: hourly events, `extra` settings, `serveExtra` in the serve block. */
export const CONFIG = (extra = '', serveExtra = '') => `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  serve: { minWorkers: 1, maxWorkers: 2, scanIntervalMs: 400, lookbackHours: 1000000${serveExtra} },
  defaults: { memory: '1GB', threads: 2, files: 'auto' },
  ${extra}
});
`;

/** An hourly analyzer of the events, with options. */
export const HOURLY = (
  opts: { name?: string; sql?: string; memory?: string; retries?: string; load?: string } = {},
) => `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({
  name: '${opts.name ?? 'ad_impressions_hourly'}',
  inputs: ['events'],
  grain: 'hour',
  start: '2023-10-12T00',
  sql: \`${opts.sql ?? "SELECT ad_id, user_segment, count(*) AS impression_count, sum(bid_price) AS total_bid FROM events WHERE event_type = 'impression' GROUP BY ad_id, user_segment"}\`,
  files: 2,
  ${opts.memory ? `memory: '${opts.memory}',` : ''}
  ${opts.load ? `load: { table: '${opts.load}' },` : ''}
  retries: ${opts.retries ?? '{ max: 3, backoffMs: 100, maxBackoffMs: 400 }'},
});
`;

/** Land one hour of events the way a real writer does: files first, then _SUCCESS. */
export async function landHour(tp: TestProject, hour: string, seed = 7, rows = 3000, marker = true): Promise<void> {
  const scratch = tempDir('recount-land-');
  await generateEvents({ out: scratch, start: hour, hours: 1, rowsPerHour: rows, seed, ads: 100, threads: 1 });
  const rel = `dt=${hour.slice(0, 10)}/hour=${hour.slice(11, 13)}`;
  const dest = join(tp.dir, 'data/events', rel);
  mkdirSync(dest, { recursive: true });
  rmSync(join(dest, '_SUCCESS'), { force: true });
  renameSync(join(scratch, rel, 'part-00000.parquet'), join(dest, 'part-00000.parquet'));
  if (marker) writeFileSync(join(dest, '_SUCCESS'), '');
  rmSync(scratch, { recursive: true, force: true });
}

/** What one serve test holds: its project, its serve process and its state store. */
export interface ServeFixture {
  tp?: TestProject;
  serve?: ServeProcess;
  store?: StateStore;
}

/** A ServeFixture emptied after each test: the serve process killed if it still runs, the store closed, the project removed. */
export function serveFixture(): ServeFixture {
  const f: ServeFixture = {};
  afterEach(async () => {
    const { serve } = f;
    if (serve && serve.child.exitCode === null && serve.child.signalCode === null) await serve.kill();
    await f.store?.close();
    f.tp?.cleanup();
    f.tp = f.serve = f.store = undefined;
  });
  return f;
}
