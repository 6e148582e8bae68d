import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { runPartition, type RunContext } from '../../src/run/runPartition.ts';
import { getAnalyzer } from '../../src/config/project.ts';
import { generateEvents } from '../../src/gen/events.ts';

// _SUCCESS is written into the version folder before the link swap: a reader polling the published path's
// readiness in another process never finds it missing while the partition is republished again and again.

const COUNTS = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'counts', inputs: ['events'], grain: 'hour', files: 2,
  sql: "SELECT ad_id, count(*)::BIGINT AS n FROM events GROUP BY ad_id" });`;
const P = '2023-10-12T00';

/** Polls `<dir>/_SUCCESS` until the stop file appears, then prints how often it looked and how often it was missing. */
const READER = `
const fs = require('node:fs');
const [dir, started, stop] = process.argv.slice(1);
let checks = 0, missing = 0;
fs.writeFileSync(started, '');
while (!fs.existsSync(stop)) {
  for (let i = 0; i < 200; i++) { checks++; if (!fs.existsSync(dir + '/_SUCCESS')) missing++; }
}
process.stdout.write(JSON.stringify({ checks, missing }));
`;

describe('readiness of the published path', () => {
  let tp: TestProject;
  let ctx: RunContext & { close(): Promise<void> };

  beforeAll(async () => {
    tp = await makeProject({ hours: 0, examples: false, analyzers: { counts: COUNTS } });
    ctx = await tp.open();
  });
  afterAll(async () => {
    await ctx?.close();
    tp?.cleanup();
  });

  it('never goes missing while the partition is republished 12 times', async () => {
    const a = getAnalyzer(ctx.project, 'counts');
    const publishWithSeed = async (seed: number) => {
      await generateEvents({
        out: join(tp.dir, 'data/events'),
        start: P,
        hours: 1,
        rowsPerHour: 300,
        seed,
        ads: 20,
        threads: 1,
      });
      const r = await runPartition(ctx, a, P);
      expect(r.status, r.error?.message).toBe('succeeded');
    };
    await publishWithSeed(1);
    const published = join(tp.dir, 'data/out/counts/dt=2023-10-12/hour=00');
    expect(existsSync(join(published, '_SUCCESS'))).toBe(true);

    const started = join(tp.dir, 'reader-started');
    const stop = join(tp.dir, 'reader-stop');
    const reader = spawn(process.execPath, ['-e', READER, published, started, stop], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    reader.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    while (!existsSync(started)) await new Promise((r) => setTimeout(r, 20));

    for (let i = 0; i < 12; i++) await publishWithSeed(2 + (i % 2));
    writeFileSync(stop, '');
    await once(reader, 'exit');
    const seen = JSON.parse(output) as { checks: number; missing: number };
    expect(seen.checks).toBeGreaterThan(0);
    expect(seen.missing, `${seen.missing} of ${seen.checks} looks found no _SUCCESS`).toBe(0);
    expect((await ctx.store.getPartition('counts', P))?.published_seq).toBe(13);
  });
});
