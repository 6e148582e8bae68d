import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { generateEvents } from '../../src/gen/events.ts';
import { getAnalyzer } from '../../src/config/project.ts';
import { runPartition, type RunContext } from '../../src/run/runPartition.ts';
import { lit } from '../../src/engine/sql.ts';
import { duck, makeProject, type TestProject } from '../helpers/project.ts';
import {
  answerSql,
  filesCliRead,
  newTally,
  openReader,
  replaceInputFile,
  startReaderProcess,
  sumTallies,
  type ReaderTally,
} from '../helpers/readers.ts';

// I1 while publishing: readers scan a multi-file partition through the README's glob and through the files
// `recount files` prints while it is republished again and again, its input alternating between two data sets
// and its file count changing. Every answer is one complete version's; the glob may instead fail loudly.

const P = '2023-10-12T00';
const CONFIG = `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  keepVersions: 40,
  defaults: { memory: '1GB', threads: 1, files: 8 },
});`;
// Every event is an output row, so each of the 8 files holds a fair share and a scan takes a while.
const WIDE = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'wide', inputs: ['events'], grain: 'hour', files: 8, keys: ['event_id'],
  sql: 'SELECT event_id, ad_id, user_id, bid_price FROM events' });`;

describe('readers during republishes (I1)', () => {
  let tp: TestProject;
  let ctx: RunContext & { close(): Promise<void> };
  const source = { a: '', b: '' };
  const complete = new Set<string>();

  beforeAll(async () => {
    tp = await makeProject({ hours: 0, examples: false, config: CONFIG, analyzers: { wide: WIDE } });
    for (const [k, seed] of [
      ['a', 1],
      ['b', 2],
    ] as const) {
      const out = join(tp.dir, `sources/${k}`);
      await generateEvents({ out, start: P, hours: 1, rowsPerHour: 120_000, seed, ads: 500, threads: 1 });
      source[k] = join(out, 'dt=2023-10-12/hour=00/part-00000.parquet');
      const [r] = await duck<{ answer: string }>(answerSql(`read_parquet(${lit(source[k])})`, 'ad_id', 'user_id'));
      complete.add(r!.answer);
    }
    expect(complete.size, 'the two data sets give different answers').toBe(2);
    ctx = await tp.open();
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    tp?.cleanup();
  });

  it('glob readers see one complete version or fail loudly, `recount files` readers always one complete version: 0 mixed', async () => {
    const input = join(tp.dir, 'data/events/dt=2023-10-12/hour=00/part-00000.parquet');
    const wide = getAnalyzer(ctx.project, 'wide');
    replaceInputFile(source.a, input);
    const first = await runPartition(ctx, wide, P);
    expect(first.error).toBeUndefined();

    let done = false;
    // Readers in their own processes, reading on their own threads while this one publishes.
    const common = { complete, a: 'ad_id', b: 'user_id' };
    const glob = join(tp.dir, 'data/out/wide/*/*/*.parquet');
    const readers = [
      startReaderProcess({ ...common, mode: 'glob', name: 'glob 1', glob }),
      startReaderProcess({ ...common, mode: 'glob', name: 'glob 2', glob }),
      startReaderProcess({
        ...common,
        mode: 'files',
        name: 'files',
        outputRoot: join(tp.dir, 'data/out'),
        analyzer: 'wide',
        partition: P,
      }),
    ];
    await Promise.all(readers.map((r) => r.ready));
    // `recount files --json` itself, in child processes, read while the publishes go on.
    const cli = (async () => {
      const t = newTally('recount files (CLI)');
      const session = await openReader();
      try {
        while (!done) {
          const answer = await filesCliRead(tp.dir, 'wide', P, session, 'ad_id', 'user_id');
          t.answers++;
          if (complete.has(answer)) t.complete++;
          else t.mixed++, t.samples.push(answer);
        }
      } finally {
        session.close();
      }
      return t;
    })();

    // Republish: input alternating between the data sets, the file count between 8, 3 and 5.
    const counts = [8, 3, 5];
    const published: number[] = [first.version!];
    try {
      for (let i = 1; i <= 10; i++) {
        replaceInputFile(i % 2 ? source.b : source.a, input);
        const r = await runPartition(ctx, { ...wide, fileCount: counts[i % counts.length]! }, P);
        expect(r.error).toBeUndefined();
        expect(r.files).toBe(counts[i % counts.length]);
        published.push(r.version!);
      }
    } finally {
      done = true;
    }
    const tallies: ReaderTally[] = [...(await Promise.all(readers.map((r) => r.stop()))), await cli];
    const globs = sumTallies('glob', tallies.slice(0, 2));
    const files = sumTallies('files', tallies.slice(2));
    const report = JSON.stringify({ republishes: published.length - 1, tallies }, null, 1);
    if (process.env.RECOUNT_READERS_REPORT) console.log(report);

    expect(published, report).toHaveLength(11);
    // The rule, for both ways of reading: never an answer that is not one complete version's.
    expect(globs.mixed, report).toBe(0);
    expect(files.mixed, report).toBe(0);
    expect(globs.otherErrors + files.otherErrors, report).toBe(0);
    // Readers of the exact files never fail (the versions they resolved are kept); glob readers may, loudly.
    expect(files.loudErrors, report).toBe(0);
    expect(files.complete, report).toBe(files.answers);
    expect(globs.complete + globs.loudErrors, report).toBeGreaterThan(0);
    expect(tallies[3]!.answers, report).toBeGreaterThan(0);
  }, 60_000);
});
