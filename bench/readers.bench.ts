// Readers benchmark (issue 12): N readers in their own processes scan one multi-file partition — half through the
// README's glob, half through the exact files `recount files` resolves — while this process republishes it many times,
// its input alternating between two data sets and its file count changing. Counts every answer: equal to a complete
// version, a loud error (the glob straddled a swap), or mixed (I1 broken: must be 0). Prints figures; writes
// bench/results/readers.csv. Not a test: nothing asserts, but the verdict line says whether I1 held.
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { generateEvents } from '../src/gen/events.ts';
import { getAnalyzer } from '../src/config/project.ts';
import { runPartition } from '../src/run/runPartition.ts';
import { lit } from '../src/engine/sql.ts';
import { duck, makeProject } from '../test/helpers/project.ts';
import {
  answerSql,
  replaceInputFile,
  startReaderProcess,
  sumTallies,
  type ReaderTally,
} from '../test/helpers/readers.ts';
import { registerRecountImport } from './lib/project.ts';
import { writeCsv } from './lib/csv.ts';

const READERS = Number(process.env.BENCH_READERS ?? 4);
const REPUBLISHES = Number(process.env.BENCH_REPUBLISHES ?? 60);
const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const FILE_COUNTS = [8, 3, 5, 12];
const P = '2023-10-12T00';

const CONFIG = `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  keepVersions: 5,
  defaults: { memory: '1GB', threads: 1, files: 8 },
});`;
const WIDE = `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'wide', inputs: ['events'], grain: 'hour', files: 8, keys: ['event_id'],
  sql: 'SELECT event_id, ad_id, user_id, bid_price FROM events' });`;

async function main(): Promise<void> {
  registerRecountImport();
  const tp = await makeProject({ hours: 0, examples: false, config: CONFIG, analyzers: { wide: WIDE } });
  try {
    const source: string[] = [];
    const complete = new Set<string>();
    for (const seed of [1, 2]) {
      const out = join(tp.dir, `sources/${seed}`);
      await generateEvents({ out, start: P, hours: 1, rowsPerHour: ROWS, seed, ads: 500, threads: 1 });
      const file = join(out, 'dt=2023-10-12/hour=00/part-00000.parquet');
      source.push(file);
      complete.add(
        (await duck<{ answer: string }>(answerSql(`read_parquet(${lit(file)})`, 'ad_id', 'user_id')))[0]!.answer,
      );
    }
    const ctx = await tp.open();
    const input = join(tp.dir, 'data/events/dt=2023-10-12/hour=00/part-00000.parquet');
    const wide = getAnalyzer(ctx.project, 'wide');
    replaceInputFile(source[0]!, input);
    const first = await runPartition(ctx, wide, P);
    if (first.error) throw first.error;

    const common = { complete, a: 'ad_id', b: 'user_id' };
    const glob = join(tp.dir, 'data/out/wide/*/*/*.parquet');
    const readers = Array.from({ length: READERS }, (_, i) =>
      i % 2 === 0
        ? startReaderProcess({ ...common, mode: 'glob', name: `glob ${i / 2 + 1}`, glob })
        : startReaderProcess({
            ...common,
            mode: 'files',
            name: `files ${(i + 1) / 2}`,
            outputRoot: join(tp.dir, 'data/out'),
            analyzer: 'wide',
            partition: P,
          }),
    );
    await Promise.all(readers.map((r) => r.ready));
    console.log(
      `${READERS} readers, ${REPUBLISHES} republishes of an ${ROWS.toLocaleString('en-US')}-row partition (file counts ${FILE_COUNTS.join('/')}), ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}`,
    );
    const t0 = performance.now();
    let failed = 0;
    for (let i = 1; i <= REPUBLISHES; i++) {
      replaceInputFile(source[i % 2]!, input);
      const r = await runPartition(ctx, { ...wide, fileCount: FILE_COUNTS[i % FILE_COUNTS.length]! }, P);
      if (r.error) failed++;
    }
    const seconds = (performance.now() - t0) / 1000;
    const tallies: ReaderTally[] = await Promise.all(readers.map((r) => r.stop()));
    await ctx.close();

    const globs = sumTallies(
      'all glob readers',
      tallies.filter((t) => t.name.startsWith('glob')),
    );
    const files = sumTallies(
      'all files readers',
      tallies.filter((t) => t.name.startsWith('files')),
    );
    const table = new Table({
      head: ['reader', 'answers', 'complete version', 'loud errors', 'mixed', 'other errors'],
    });
    for (const t of [...tallies, globs, files])
      table.push([t.name, t.answers, t.complete, t.loudErrors, t.mixed, t.otherErrors]);
    console.log(table.toString());
    console.log(`${REPUBLISHES - failed} republishes in ${seconds.toFixed(1)} s (${failed} failed)`);
    for (const t of tallies) for (const s of t.samples.slice(0, 3)) console.log(`  ${t.name}: ${s}`);
    const held =
      globs.mixed + files.mixed === 0 && globs.otherErrors + files.otherErrors === 0 && files.loudErrors === 0;
    console.log(
      `I1 ${held ? 'held' : 'BROKEN'}: ${globs.mixed + files.mixed} mixed answers of ${globs.answers + files.answers}; glob readers failed loudly ${globs.loudErrors} times (${((100 * globs.loudErrors) / Math.max(1, globs.answers + globs.loudErrors)).toFixed(2)} % of reads), files readers ${files.loudErrors}`,
    );
    const path = writeCsv(
      'readers',
      [
        'reader',
        'readers',
        'republishes',
        'rows',
        'answers',
        'complete',
        'loud_errors',
        'mixed',
        'other_errors',
        'seconds',
      ],
      [...tallies, globs, files].map((t) => ({
        reader: t.name,
        readers: READERS,
        republishes: REPUBLISHES - failed,
        rows: ROWS,
        answers: t.answers,
        complete: t.complete,
        loud_errors: t.loudErrors,
        mixed: t.mixed,
        other_errors: t.otherErrors,
        seconds: seconds.toFixed(1),
      })),
    );
    console.log(`wrote ${path}`);
    if (!held) process.exitCode = 1;
  } finally {
    tp.cleanup();
  }
}

await main();
