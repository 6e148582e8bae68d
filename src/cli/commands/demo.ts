import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { generateEvents } from '../../gen/events.ts';
import { getAnalyzer, type Analyzer, type EngineChoice } from '../../config/project.ts';
import { RecountError } from '../../errors.ts';
import { redactRemote } from '../../engine/spark/connect/index.ts';
import { partitionRange } from '../../catalog/partition.ts';
import { runPartition, type AttemptResult } from '../../run/runPartition.ts';
import { DuckDBEngine } from '../../engine/duckdb/duckdbEngine.ts';
import { lit } from '../../engine/sql.ts';
import { formatBytes, thousands } from '../../config/size.ts';
import { action, wholeNumber } from '../command.ts';
import type { Output } from '../output.ts';
import { attemptJson, duration } from '../format.ts';
import { type CliSession, withSession } from '../session.ts';
import { tableOf } from '../tableOf.ts';
import { initProject } from './init.ts';
import { loadWarning, openProjectWarehouse } from '../../warehouse/loader.ts';
import type { LoadOutcome } from '../../warehouse/loader.ts';

/** The options of `recount demo`. */
interface DemoOptions {
  dir: string;
  rowsPerHour: number;
  engine: string;
  sparkRemote?: string;
}

/** The day of events the demo generates and runs. */
const DAY = '2023-10-12';

type Row = Record<string, unknown>;

/** `recount demo`: a day of events through both example analyzers, on embedded defaults. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('generate a day of ad-tech events, run both example analyzers, and show the result')
    .option('--dir <dir>', 'demo project folder', 'recount-demo')
    .option('--rows-per-hour <n>', 'events per hour', wholeNumber('--rows-per-hour', 1), 50_000)
    .option('--engine <engine>', "run the analyzers on 'duckdb' or 'spark' (Spark Connect at --spark-remote)", 'duckdb')
    .option(
      '--spark-remote <sc>',
      'Spark Connect server for --engine spark (default: RECOUNT_SPARK_REMOTE, else sc://localhost:15002)',
    )
    .action(action(async (out, _g, opts: DemoOptions) => demo(out, opts)));
}

/** Make (or reuse) the demo project, generate its events, run both analyzers, and show what they published. */
async function demo(out: Output, opts: DemoOptions): Promise<number> {
  const engineChoice = demoEngine(opts.engine, opts.sparkRemote);
  const dir = resolve(opts.dir);
  const started = Date.now();
  if (!existsSync(join(dir, 'recount.config.ts'))) initProject(dir);
  out.info(`project: ${dir}`);
  const gen = await generateEvents({
    out: join(dir, 'data/events'),
    start: `${DAY}T00`,
    hours: 24,
    rowsPerHour: opts.rowsPerHour,
    seed: 1,
  });
  out.info(`generated ${thousands(gen.rows)} events in 24 hourly partitions`);
  return withSession(dir, async (s) => {
    // --engine spark runs this demo's attempts on Spark; the project's config is left as it is.
    const onEngine = (a: Analyzer): Analyzer => (engineChoice ? { ...a, engineChoice } : a);
    const hourly = onEngine(getAnalyzer(s.project, 'ad_impressions_hourly'));
    const daily = onEngine(getAnalyzer(s.project, 'ad_impressions_daily'));
    if (engineChoice) out.info(`engine: Spark at ${redactRemote(engineChoice.remote)}`);
    const results: AttemptResult[] = [];
    for (const p of partitionRange(`${DAY}T00`, `${DAY}T23`, 'hour'))
      results.push(await runPartition(s, hourly, p.id, { trigger: 'demo' }));
    results.push(await runPartition(s, daily, DAY, { trigger: 'demo' }));
    const failed = results.filter((r) => r.status !== 'succeeded');
    const parquet = await topAdsFromParquet(s, dir);
    // Each publish above was loaded into its warehouse table (the embedded DuckDB file); query it there.
    const loads = results.flatMap((r) => (r.load ? [r.load] : []));
    const loadFailures = loads.filter((l) => l.error);
    const warehouse = await topAdsFromWarehouse(s, loads);
    const summary = [hourly, daily].map((a) => analyzerSummary(a, results, s.project.outputRoot));
    out.result(
      {
        ok: failed.length === 0 && loadFailures.length === 0,
        project: dir,
        summary,
        topAds: parquet.top,
        warehouse,
        failures: failed.map(attemptJson),
      },
      () => {
        out.info(
          tableOf(['analyzer', 'partitions', 'published', 'rows', 'files', 'size', 'output'], summary, (r) => [
            r.analyzer,
            r.partitions,
            r.published,
            thousands(r.rows),
            r.files,
            formatBytes(r.bytes),
            r.output,
          ]),
        );
        for (const f of failed) out.info(`failed: ${f.analyzer} ${f.partition}: ${f.error?.message}`);
        showTopAds(out, parquet, warehouse, loadFailures);
        out.info(
          `\ndone in ${duration(Date.now() - started)}. Next: npx recount --project ${opts.dir} status ad_impressions_hourly`,
        );
      },
    );
    return failed.length || loadFailures.length ? 1 : 0;
  });
}

/** The five top ads of the day, read straight from the published Parquet of the daily analyzer. */
async function topAdsFromParquet(s: CliSession, dir: string): Promise<{ glob: string; top: Row[] }> {
  const session = await new DuckDBEngine().open({
    memoryBytes: 500_000_000,
    threads: 2,
    spillDir: join(dir, '.recount/spill/demo'),
  });
  const glob = join(s.project.outputRoot, 'ad_impressions_daily', '*', '*.parquet');
  const top = await session.query<Row>(
    `SELECT ad_id, sum(impression_count)::BIGINT AS impressions, round(sum(total_bid), 2) AS total_bid FROM read_parquet(${lit(glob)}) GROUP BY ad_id ORDER BY impressions DESC, ad_id LIMIT 5`,
  );
  session.close();
  return { glob, top };
}

/** The demo's warehouse: its loads, and the daily table joined with its hourly partitions for the five top ads. */
interface DemoWarehouse {
  url: string;
  loaded: number;
  failed: number;
  topAds: Row[];
}

async function topAdsFromWarehouse(s: CliSession, loads: LoadOutcome[]): Promise<DemoWarehouse> {
  const wh = await openProjectWarehouse(s.project);
  let fromWarehouse: Row[];
  try {
    fromWarehouse = await wh.query<Row>(
      `SELECT d.ad_id, sum(d.impression_count)::BIGINT AS daily_impressions, h.impressions AS hourly_impressions, h.hours
               FROM ad_impressions_daily d
               JOIN (SELECT dt, ad_id, sum(impression_count)::BIGINT AS impressions, count(DISTINCT hour) AS hours FROM ad_impressions_hourly GROUP BY dt, ad_id) h USING (dt, ad_id)
               WHERE d.dt = DATE ${lit(DAY)}
               GROUP BY d.ad_id, h.impressions, h.hours ORDER BY daily_impressions DESC, d.ad_id LIMIT 5`,
    );
  } finally {
    await wh.close();
  }
  return {
    url: wh.display,
    loaded: loads.filter((l) => !l.error).length,
    failed: loads.filter((l) => l.error).length,
    topAds: fromWarehouse,
  };
}

/** What the demo ran of one analyzer: partitions, published, rows, files, bytes and where the output is. */
function analyzerSummary(a: Analyzer, results: AttemptResult[], outputRoot: string) {
  const rs = results.filter((r) => r.analyzer === a.name);
  return {
    analyzer: a.name,
    partitions: rs.length,
    published: rs.filter((r) => r.status === 'succeeded').length,
    rows: rs.reduce((n, r) => n + (r.rows ?? 0), 0),
    files: rs.reduce((n, r) => n + (r.files ?? 0), 0),
    bytes: rs.reduce((n, r) => n + (r.bytes ?? 0), 0),
    output: join(outputRoot, a.name),
  };
}

function showTopAds(
  out: Output,
  parquet: { glob: string; top: Row[] },
  warehouse: DemoWarehouse,
  loadFailures: LoadOutcome[],
): void {
  out.info(`\ntop ads of ${DAY}, read straight from the published Parquet (${parquet.glob}):`);
  out.info(
    tableOf(['ad_id', 'impressions', 'total_bid'], parquet.top, (r) => [
      String(r.ad_id),
      String(r.impressions),
      String(r.total_bid),
    ]),
  );
  out.info(
    `\nthe same day in the warehouse (${warehouse.url}): ${warehouse.loaded} partition(s) loaded, one transaction each; the daily table joined with its hourly partitions:`,
  );
  out.info(
    tableOf(['ad_id', 'daily impressions', 'sum of hourly', 'hours seen'], warehouse.topAds, (r) => [
      String(r.ad_id),
      String(r.daily_impressions),
      String(r.hourly_impressions),
      String(r.hours),
    ]),
  );
  for (const l of loadFailures) out.warn(loadWarning(l));
}

/** The engine of `--engine`: undefined for the project's own (DuckDB by default), Spark at a remote. */
function demoEngine(engine: string, remote: string | undefined): Extract<EngineChoice, { name: 'spark' }> | undefined {
  if (engine === 'duckdb') return undefined;
  if (engine !== 'spark') {
    throw new RecountError('USAGE', `--engine ${engine}: expected duckdb or spark`, {
      subject: '--engine',
      hint: 'recount demo --engine spark --spark-remote sc://host:15002',
    });
  }
  return { name: 'spark', remote: remote ?? (process.env.RECOUNT_SPARK_REMOTE || 'sc://localhost:15002'), conf: {} };
}
