// Spark benchmark (issue 15): the hourly analyzer on one Spark Connect server as recount's runPartition() on
// the Spark engine and as a plain PySpark script (read -> SQL -> repartition -> sort -> write), rounds
// interleaved; recount on DuckDB on the same partition alongside, for the README. Each recount round's phases
// (inputs, plan, query_and_write, checks: the manifest's timings) go to the CSV too, to say where the time goes.
// BENCH_SPARK_EVENTS is one size or several (`1000000,5000000`). Uses RECOUNT_SPARK_REMOTE, or starts a local
// server. BENCH_SPARK_COMPARE=<another checkout of recount> also runs that checkout's recount on Spark in every
// round, as 'other_spark' (e.g. the code before a change: before/after figures under the same machine load).
// Prints figures; writes bench/results/spark.csv. Not a test: nothing asserts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { getAnalyzer } from '../src/config/project.ts';
import { parsePartition } from '../src/catalog/partition.ts';
import { resolveInputs } from '../src/run/fingerprint.ts';
import { runPartition } from '../src/run/runPartition.ts';
import type { RunContext } from '../src/run/runPartition.ts';
import { cachedEvents } from './lib/dataCache.ts';
import { makeBenchProject } from './lib/project.ts';
import { interleave } from './lib/measure.ts';
import { median } from './lib/stats.ts';
import { writeCsv, type Cell } from './lib/csv.ts';
import { PY_DEPS, runPlainPyspark } from './lib/plainPysparkRun.ts';
import { startSparkConnect, type SparkServer } from '../test/spark/sparkServer.ts';

const ANALYZER = 'ad_impressions_hourly';
const PARTITION = '2023-10-12T00';
const SIZES = (process.env.BENCH_SPARK_EVENTS ?? '2000000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MAX_RATIO = 1.15;
const PHASES = ['inputs', 'plan', 'query_and_write', 'checks'] as const;
const COLUMNS = ['events', 'round', 'mode', 'seconds', 'warmup', 'rows', ...PHASES.map((p) => `${p}_ms`)];

type Mode = 'pyspark' | 'recount_spark' | 'recount_duckdb' | 'other_spark';
const COMPARE = process.env.BENCH_SPARK_COMPARE || undefined;
const MODES: readonly Mode[] = [
  'recount_spark',
  'pyspark',
  'recount_duckdb',
  ...(COMPARE ? ['other_spark' as const] : []),
];
type Row = Record<string, Cell>;

/** A recount checkout's own modules: this one's, or BENCH_SPARK_COMPARE's (each opens its own projects). */
interface Recount {
  readonly runPartition: typeof runPartition;
  readonly getAnalyzer: typeof getAnalyzer;
  readonly makeBenchProject: typeof makeBenchProject;
}

const THIS: Recount = { runPartition, getAnalyzer, makeBenchProject };

/** The other checkout's runPartition, getAnalyzer and makeBenchProject, imported from its sources. */
async function otherRecount(repo: string): Promise<Recount> {
  const load = (file: string) => import(pathToFileURL(join(repo, file)).href);
  const [run, project, bench] = await Promise.all([
    load('src/run/runPartition.ts'),
    load('src/config/project.ts'),
    load('bench/lib/project.ts'),
  ]);
  return { runPartition: run.runPartition, getAnalyzer: project.getAnalyzer, makeBenchProject: bench.makeBenchProject };
}

/** One recount attempt: its seconds, rows and the phase timings its manifest records. */
async function runRecount(recount: Recount, ctx: RunContext, mode: Mode): Promise<Row> {
  const t0 = performance.now();
  const r = await recount.runPartition(ctx, recount.getAnalyzer(ctx.project, ANALYZER), PARTITION, {
    trigger: 'bench',
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 'succeeded') throw new Error(`${mode}: ${r.error?.message}`);
  const manifest = JSON.parse(readFileSync(join(r.publishedPath!, '_manifest.json'), 'utf8')) as {
    provenance: { timingsMs: Record<string, number> };
  };
  const phases = Object.fromEntries(PHASES.map((p) => [`${p}_ms`, manifest.provenance.timingsMs[p]]));
  return { seconds: seconds.toFixed(3), rows: r.rows, ...phases };
}

/** All rounds of every mode on one partition of `events` events per hour. */
async function benchSize(remote: string, events: number): Promise<Row[]> {
  const data = await cachedEvents({ start: PARTITION, hours: 1, rowsPerHour: events, seed: 42 });
  const make = (spark: boolean, recount = THIS) =>
    recount.makeBenchProject({
      datasetRoots: { events: data.root },
      analyzers: [{ name: ANALYZER, example: ANALYZER, load: false }],
      ...(spark ? { config: { engine: { spark: { remote, conf: {} } } } } : {}),
    });
  const other = COMPARE ? await otherRecount(COMPARE) : undefined;
  const [duck, spark] = [make(false), make(true)];
  const otherSpark = other && make(true, other);
  const [ctxDuck, ctxSpark] = [await duck.open(), await spark.open()];
  const ctxOther = await otherSpark?.open();
  const contender = (mode: Mode): [Recount, RunContext] =>
    mode === 'recount_spark' ? [THIS, ctxSpark] : mode === 'other_spark' ? [other!, ctxOther!] : [THIS, ctxDuck];
  const rows: Row[] = [];
  try {
    const analyzer = getAnalyzer(ctxSpark.project, ANALYZER);
    const inputs = resolveInputs(ctxSpark.project, analyzer, parsePartition(PARTITION, 'hour')).flatMap((r) =>
      r.files.map((f) => f.absPath),
    );
    const fileCount = typeof analyzer.fileCount === 'number' ? analyzer.fileCount : 4;
    console.log(
      `\n${data.rows.toLocaleString('en')} events in ${inputs.length} file(s); ${ROUNDS} rounds of ${MODES.join(', ')}, interleaved`,
    );
    await interleave(ROUNDS + 1, MODES, async (mode, round) => {
      const measured =
        mode === 'pyspark'
          ? { seconds: runPlainPyspark(remote, fileCount, analyzer.sql, inputs).toFixed(3) }
          : await runRecount(...contender(mode), mode);
      // Round 0 warms both sides up (JVM JIT, page cache) and is not counted.
      const warmup = round === 1;
      rows.push({ events: data.rows, round: round - 1, mode, warmup, ...measured });
      console.log(
        `  round ${round - 1}${warmup ? ' (warm-up)' : ''} ${mode}: ${Number(measured.seconds).toFixed(2)} s`,
      );
    });
  } finally {
    await ctxDuck.close();
    await ctxSpark.close();
    await ctxOther?.close();
    duck.cleanup();
    spark.cleanup();
    otherSpark?.cleanup();
  }
  summarize(rows);
  return rows;
}

/** Print the medians, the ratios and recount on Spark's phases. */
function summarize(rows: readonly Row[]): void {
  const counted = (m: Mode) => rows.filter((r) => r.mode === m && !r.warmup);
  const med = (m: Mode, col = 'seconds') => median(counted(m).map((r) => Number(r[col])));
  const [p, s, d] = [med('pyspark'), med('recount_spark'), med('recount_duckdb')];
  const ratios = counted('recount_spark').map((r, i) => Number(r.seconds) / Number(counted('pyspark')[i]?.seconds));
  console.log(
    `median seconds: plain PySpark ${p.toFixed(2)}, recount on Spark ${s.toFixed(2)}, recount on DuckDB ${d.toFixed(2)}`,
  );
  console.log(
    `recount on Spark / plain PySpark: ${(s / p).toFixed(2)} (target <= ${MAX_RATIO}; per round ${ratios.map((x) => x.toFixed(2)).join(' ')}); recount on Spark / recount on DuckDB: ${(s / d).toFixed(2)}`,
  );
  for (const m of MODES.filter((x) => x.endsWith('_spark'))) {
    const phases = PHASES.map((ph) => `${ph} ${(med(m, `${ph}_ms`) / 1000 / p).toFixed(2)}`);
    const ms = PHASES.map((ph) => `${ph} ${med(m, `${ph}_ms`).toFixed(0)}`);
    console.log(
      `${m}'s phases, median, in units of the PySpark script's time: ${phases.join(', ')} (ms: ${ms.join(', ')})`,
    );
  }
  if (COMPARE) {
    const o = med('other_spark');
    console.log(
      `other checkout (${COMPARE}) on Spark: ${o.toFixed(2)} s, / plain PySpark ${(o / p).toFixed(2)}; this / other ${(s / o).toFixed(2)}`,
    );
  }
}

async function main(): Promise<void> {
  let server: SparkServer | undefined;
  const remote =
    process.env.RECOUNT_SPARK_REMOTE || (server = await startSparkConnect({ ownerPid: process.pid })).remote;
  console.log(
    `Spark Connect: ${remote}${server ? ` (started for this bench in ${server.startSeconds.toFixed(1)} s)` : ''}; load average ${loadavg()[0]!.toFixed(2)}`,
  );
  if (!existsSync(PY_DEPS))
    console.log(
      `note: no ${PY_DEPS}; PySpark's Connect client needs pandas, pyarrow, grpcio, grpcio-status, googleapis-common-protos (pip install --target ${PY_DEPS} …)`,
    );
  const rows: Row[] = [];
  try {
    for (const events of SIZES) rows.push(...(await benchSize(remote, events)));
  } finally {
    await server?.stop();
  }
  console.log(`load average at end ${loadavg()[0]!.toFixed(2)}; wrote ${writeCsv('spark', COLUMNS, rows)}`);
}

await main();
