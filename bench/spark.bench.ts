// Spark benchmark (issue 15): the hourly analyzer on one Spark Connect server as recount's runPartition() on
// the Spark engine and as a plain PySpark script (read -> SQL -> repartition -> sort -> write), rounds
// interleaved; recount on DuckDB on the same partition alongside, for the README. Uses RECOUNT_SPARK_REMOTE,
// or starts a local server. Prints figures; writes bench/results/spark.csv. Not a test: nothing asserts.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAnalyzer } from '../src/config/project.ts';
import { parsePartition } from '../src/catalog/partition.ts';
import { resolveInputs } from '../src/run/fingerprint.ts';
import { runPartition } from '../src/run/runPartition.ts';
import { cachedEvents } from './lib/dataCache.ts';
import { makeBenchProject } from './lib/project.ts';
import { interleave } from './lib/measure.ts';
import { median } from './lib/stats.ts';
import { writeCsv, type Cell } from './lib/csv.ts';
import { BENCH_DIR } from './lib/paths.ts';
import { sparkCacheDir, sparkHome, startSparkConnect, type SparkServer } from '../test/spark/sparkServer.ts';

const ANALYZER = 'ad_impressions_hourly';
const PARTITION = '2023-10-12T00';
const EVENTS = Number(process.env.BENCH_SPARK_EVENTS ?? 2_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MAX_RATIO = 1.15;
/** Python packages of PySpark's Spark Connect client (pandas, pyarrow, grpcio, …), installed beside pyspark by pip. */
const PY_DEPS = process.env.RECOUNT_PYSPARK_DEPS ?? join(sparkCacheDir(), 'pyspark-connect-deps');

type Mode = 'pyspark' | 'recount_spark' | 'recount_duckdb';
const MODES: readonly Mode[] = ['recount_spark', 'pyspark', 'recount_duckdb'];

/** pyspark's bundled py4j (its Connect client imports it too), since pyspark is installed without dependencies. */
function py4j(): string[] {
  const lib = join(sparkHome(), 'python', 'lib');
  return existsSync(lib)
    ? readdirSync(lib)
        .filter((f) => f.startsWith('py4j-'))
        .map((f) => join(lib, f))
    : [];
}

async function main(): Promise<void> {
  let server: SparkServer | undefined;
  const remote =
    process.env.RECOUNT_SPARK_REMOTE || (server = await startSparkConnect({ ownerPid: process.pid })).remote;
  console.log(
    `Spark Connect: ${remote}${server ? ` (started for this bench in ${server.startSeconds.toFixed(1)} s)` : ''}`,
  );
  if (!existsSync(PY_DEPS))
    console.log(
      `note: no ${PY_DEPS}; PySpark's Connect client needs pandas, pyarrow, grpcio, grpcio-status, googleapis-common-protos (pip install --target ${PY_DEPS} …)`,
    );
  const events = await cachedEvents({ start: PARTITION, hours: 1, rowsPerHour: EVENTS, seed: 42 });
  const duck = makeBenchProject({
    datasetRoots: { events: events.root },
    analyzers: [{ name: ANALYZER, example: ANALYZER, load: false }],
  });
  const spark = makeBenchProject({
    datasetRoots: { events: events.root },
    analyzers: [{ name: ANALYZER, example: ANALYZER, load: false }],
    config: { engine: { spark: { remote, conf: {} } } },
  });
  const ctxDuck = await duck.open();
  const ctxSpark = await spark.open();
  const rows: Record<string, Cell>[] = [];
  try {
    const analyzer = getAnalyzer(ctxSpark.project, ANALYZER);
    const files = resolveInputs(ctxSpark.project, analyzer, parsePartition(PARTITION, 'hour')).flatMap((r) =>
      r.files.map((f) => f.absPath),
    );
    const fileCount = typeof analyzer.fileCount === 'number' ? analyzer.fileCount : 4;
    console.log(
      `${events.rows.toLocaleString('en')} events in ${files.length} file(s); ${ROUNDS} rounds of ${MODES.join(', ')}, interleaved`,
    );
    await interleave(ROUNDS + 1, MODES, async (mode, round) => {
      let seconds: number;
      let outRows: number | undefined;
      if (mode === 'pyspark') {
        const out = join(tmpdir(), `recount-bench-pyspark-${process.pid}-${round}`);
        rmSync(out, { recursive: true, force: true });
        const r = spawnSync(
          'python3',
          [join(BENCH_DIR, 'lib/plainPyspark.py'), remote, out, String(fileCount), analyzer.sql, ...files],
          {
            encoding: 'utf8',
            env: {
              ...process.env,
              PYTHONPATH: [join(sparkHome(), '..'), PY_DEPS, ...py4j()].join(':'),
              SPARK_HOME: sparkHome(),
            },
          },
        );
        rmSync(out, { recursive: true, force: true });
        if (r.status !== 0) throw new Error(`plain PySpark failed: ${r.stderr.slice(-1500)}`);
        seconds = (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { work_s: number }).work_s;
      } else {
        const ctx = mode === 'recount_spark' ? ctxSpark : ctxDuck;
        const t0 = performance.now();
        const r = await runPartition(ctx, getAnalyzer(ctx.project, ANALYZER), PARTITION, { trigger: 'bench' });
        seconds = (performance.now() - t0) / 1000;
        if (r.status !== 'succeeded') throw new Error(`${mode}: ${r.error?.message}`);
        outRows = r.rows;
      }
      // Round 0 warms both sides up (JVM JIT, page cache) and is not counted.
      const warm = round === 1;
      rows.push({
        round: round - 1,
        mode,
        seconds: seconds.toFixed(3),
        warmup: warm,
        rows: outRows,
        events: events.rows,
      });
      console.log(`  round ${round - 1}${warm ? ' (warm-up)' : ''} ${mode}: ${seconds.toFixed(2)} s`);
    });
  } finally {
    await ctxDuck.close();
    await ctxSpark.close();
    duck.cleanup();
    spark.cleanup();
    await server?.stop();
  }
  const med = (m: Mode) => median(rows.filter((r) => r.mode === m && !r.warmup).map((r) => Number(r.seconds)));
  const [p, s, d] = [med('pyspark'), med('recount_spark'), med('recount_duckdb')];
  console.log(
    `\nmedian seconds: plain PySpark ${p.toFixed(2)}, recount on Spark ${s.toFixed(2)}, recount on DuckDB ${d.toFixed(2)}`,
  );
  console.log(
    `recount on Spark / plain PySpark: ${(s / p).toFixed(2)} (target <= ${MAX_RATIO}); recount on Spark / recount on DuckDB: ${(s / d).toFixed(2)}`,
  );
  console.log(`wrote ${writeCsv('spark', ['round', 'mode', 'seconds', 'warmup', 'rows', 'events'], rows)}`);
}

await main();
