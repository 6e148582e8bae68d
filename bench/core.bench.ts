// Core benchmark (issue 2): the hourly analyzer as raw DuckDB `COPY … TO parquet` and as recount's
// runPartition(), side by side in one process, interleaved; the per-run overhead on a tiny partition; and one
// `recount run` through the CLI. Prints figures; writes bench/results/core.csv. Not a test: nothing asserts.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import Table from 'cli-table3';
import { getAnalyzer, type Analyzer } from '../src/config/project.ts';
import { parsePartition } from '../src/catalog/partition.ts';
import { resolveInputs } from '../src/run/fingerprint.ts';
import { runPartition, type RunContext } from '../src/run/runPartition.ts';
import { MANIFEST_FILE, type Manifest } from '../src/commit/manifest.ts';
import { cachedEvents, type CachedEvents } from './lib/dataCache.ts';
import { makeBenchProject, type BenchProject } from './lib/project.ts';
import { rawDuckdbCopy } from './lib/rawDuckdb.ts';
import { interleave, measure } from './lib/measure.ts';
import { mb, median, ms, verdict } from './lib/stats.ts';
import { writeCsv, type Cell } from './lib/csv.ts';
import { REPO_DIR } from './lib/paths.ts';

const ANALYZER = 'ad_impressions_hourly';
const PARTITION = '2023-10-12T00';
const SEED = 42;
const BIG_EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000_000);
const TINY_EVENTS = Number(process.env.BENCH_TINY_EVENTS ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const TINY_ROUNDS = Number(process.env.BENCH_TINY_ROUNDS ?? 30);
/** Targets from issue 2. */
const MAX_RATIO = 1.25;
const MAX_OVERHEAD_MS = 50;

type Mode = 'raw_duckdb' | 'recount';
/** recount first: its warm-up tells raw DuckDB the memory limit and threads recount actually gave DuckDB. */
const MODES: readonly Mode[] = ['recount', 'raw_duckdb'];
const COLUMNS = ['suite', 'events', 'run', 'mode', 'oom', 'duration_ms', 'cpu_ms', 'peak_rss_mb', 'start_rss_mb', 'rows'];
const csv: Record<string, Cell>[] = [];
const plain = { head: [] as string[], border: [] as string[] };

interface Sample {
  readonly mode: Mode;
  readonly round: number;
  readonly ms: number;
  readonly cpuMs: number;
  readonly peakBytes: number;
  readonly startBytes: number;
  readonly rows: number;
  readonly oom: boolean;
  readonly manifest?: Manifest;
}

interface Suite {
  readonly name: string;
  readonly events: CachedEvents;
  readonly project: BenchProject;
  readonly ctx: RunContext & { close(): Promise<void> };
  readonly analyzer: Analyzer;
  readonly inputFiles: string[];
  /** DuckDB's memory limit and threads as recount set them (from the first manifest); raw DuckDB gets the same. */
  limits?: { memoryBytes: number; threads: number };
}

async function openSuite(name: string, events: CachedEvents): Promise<Suite> {
  const project = makeBenchProject({ datasetRoots: { events: events.root }, analyzers: [ANALYZER] });
  const ctx = await project.open();
  const analyzer = getAnalyzer(ctx.project, ANALYZER);
  const inputFiles = resolveInputs(ctx.project, analyzer, parsePartition(PARTITION, analyzer.grain)).flatMap((r) => r.files.map((f) => f.absPath));
  return { name, events, project, ctx, analyzer, inputFiles };
}

/** One run of one mode; throws on anything but success or out of memory, so a broken run never becomes a figure. */
async function runOnce(s: Suite, mode: Mode, round: number): Promise<Sample> {
  if (mode === 'raw_duckdb') {
    const limits = s.limits!;
    const m = await measure(() =>
      rawDuckdbCopy({
        sql: s.analyzer.sql,
        inputs: { events: s.inputFiles },
        out: join(s.project.dir, 'raw.parquet'),
        memoryBytes: limits.memoryBytes,
        threads: limits.threads,
        spillDir: join(s.project.dir, 'raw-spill'),
      }),
    );
    if (m.value.error && !m.value.oom) throw new Error(`raw DuckDB failed: ${m.value.error}`);
    return { mode, round, ms: m.ms, cpuMs: m.cpuMs, peakBytes: m.peakBytes, startBytes: m.startBytes, rows: m.value.rows, oom: m.value.oom };
  }
  const m = await measure(() => runPartition(s.ctx, s.analyzer, PARTITION, { trigger: 'bench' }));
  const r = m.value;
  const oom = r.error?.code === 'OUT_OF_MEMORY';
  if (r.status !== 'succeeded' && !oom) throw new Error(`recount run ${r.status}: ${r.error?.message ?? r.warnings.join('; ')}`);
  const manifest = r.publishedPath ? (JSON.parse(readFileSync(join(r.publishedPath, MANIFEST_FILE), 'utf8')) as Manifest) : undefined;
  if (manifest && !s.limits) s.limits = { memoryBytes: manifest.provenance.memoryLimitBytes, threads: manifest.provenance.threads };
  return { mode, round, ms: m.ms, cpuMs: m.cpuMs, peakBytes: m.peakBytes, startBytes: m.startBytes, rows: r.rows ?? 0, oom, manifest };
}

function record(s: Suite, run: number | string, x: Sample): void {
  csv.push({
    suite: s.name,
    events: s.events.rows,
    run,
    mode: x.mode,
    oom: x.oom,
    duration_ms: ms(x.ms),
    cpu_ms: ms(x.cpuMs),
    peak_rss_mb: mb(x.peakBytes),
    start_rss_mb: mb(x.startBytes),
    rows: x.rows,
  });
}

/** Paired figures: each round's recount run against the raw run next to it in time. */
interface Comparison {
  readonly samples: Record<Mode, Sample[]>;
  readonly medianMs: Record<Mode, number>;
  readonly medianCpuMs: Record<Mode, number>;
  /** median over rounds of recount/raw wall time within the round. */
  readonly pairedRatio: number;
  /** median over rounds of recount - raw wall time within the round. */
  readonly pairedDiffMs: number;
}

/** Warm up once per mode (not counted), then `rounds` interleaved rounds; every run goes to the CSV. */
async function compare(s: Suite, rounds: number, quiet: boolean): Promise<Comparison> {
  const samples: Record<Mode, Sample[]> = { raw_duckdb: [], recount: [] };
  for (const mode of MODES) record(s, 'warmup', await runOnce(s, mode, 0));
  await interleave(rounds, MODES, async (mode, round) => {
    const x = await runOnce(s, mode, round);
    samples[mode].push(x);
    record(s, round, x);
    if (!quiet) {
      console.log(
        `  round ${round} ${mode.padEnd(10)} ${ms(x.ms).toFixed(1).padStart(8)} ms wall ${ms(x.cpuMs).toFixed(0).padStart(6)} ms cpu  peak RSS ${mb(x.peakBytes).toFixed(1)} MB  rows ${x.rows}${x.oom ? '  OOM' : ''}`,
      );
    }
  });
  const byRound = samples.recount.map((r) => ({ r, w: samples.raw_duckdb.find((w) => w.round === r.round)! }));
  const comparison: Comparison = {
    samples,
    medianMs: { raw_duckdb: median(samples.raw_duckdb.map((x) => x.ms)), recount: median(samples.recount.map((x) => x.ms)) },
    medianCpuMs: { raw_duckdb: median(samples.raw_duckdb.map((x) => x.cpuMs)), recount: median(samples.recount.map((x) => x.cpuMs)) },
    pairedRatio: median(byRound.map(({ r, w }) => r.ms / w.ms)),
    pairedDiffMs: median(byRound.map(({ r, w }) => r.ms - w.ms)),
  };
  for (const mode of MODES) {
    const xs = samples[mode];
    csv.push({
      suite: s.name,
      events: s.events.rows,
      run: 'median',
      mode,
      oom: xs.some((x) => x.oom),
      duration_ms: ms(comparison.medianMs[mode]),
      cpu_ms: ms(comparison.medianCpuMs[mode]),
      peak_rss_mb: mb(Math.max(...xs.map((x) => x.peakBytes))),
      rows: xs[0]?.rows,
    });
  }
  return comparison;
}

function stageProfile(samples: readonly Sample[]): string {
  const t = new Table({ head: ['recount stage', 'median ms', 'share'], style: plain });
  const xs = samples.filter((x) => x.manifest);
  const names = [...new Set(xs.flatMap((x) => Object.keys(x.manifest!.provenance.timingsMs)))];
  const total = median(xs.map((x) => x.ms));
  const row = (label: string, v: number) => t.push([label, ms(v).toFixed(1), `${((100 * v) / total).toFixed(1)}%`]);
  for (const n of names) row(`${n} (timingsMs)`, median(xs.map((x) => x.manifest!.provenance.timingsMs[n] ?? 0)));
  row('sha256 + manifest + publish + state store (the rest)', median(xs.map((x) => x.ms - Object.values(x.manifest!.provenance.timingsMs).reduce((a, b) => a + b, 0))));
  t.push(['total runPartition()', ms(total).toFixed(1), '100%']);
  return t.toString();
}

function cliRun(s: Suite): { wallMs: number; innerMs: number; rows: number } {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of Object.keys(env)) if (k.startsWith('RECOUNT_FAULT')) delete env[k];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(REPO_DIR, 'bin/recount.js'), '--project', s.project.dir, '--json', 'run', ANALYZER, '--partition', PARTITION], { encoding: 'utf8', env });
  const wallMs = performance.now() - t0;
  let json: { durationMs?: number; rows?: number; ok?: boolean };
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new Error(`recount run via the CLI printed no JSON (exit ${r.status}): ${r.stderr || r.stdout}`);
  }
  if (r.status !== 0) throw new Error(`recount run via the CLI exited ${r.status}: ${r.stdout}`);
  return { wallMs, innerMs: json.durationMs ?? Number.NaN, rows: json.rows ?? 0 };
}

const n = (x: number) => x.toLocaleString('en-US');
const peakMb = (xs: readonly Sample[]) => `${mb(Math.max(...xs.map((x) => x.peakBytes))).toFixed(0)} MB`;

async function main(): Promise<void> {
  for (const k of Object.keys(process.env)) if (k.startsWith('RECOUNT_FAULT')) delete process.env[k];
  console.log(`core benchmark: ${ANALYZER} on one hourly partition; ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} at start, Node ${process.version}`);
  const big = await cachedEvents({ start: PARTITION, hours: 1, rowsPerHour: BIG_EVENTS, seed: SEED });
  const tiny = await cachedEvents({ start: PARTITION, hours: 1, rowsPerHour: TINY_EVENTS, seed: SEED });

  // 1. The big partition: raw DuckDB vs recount, interleaved; then once through the CLI.
  const bigSuite = await openSuite(`${BIG_EVENTS}_events`, big);
  console.log(`\n[1] ${n(big.rows)} events (${bigSuite.inputFiles.length} Parquet file under ${big.root}); analyzer budget ${mb(bigSuite.analyzer.memoryBytes)} MB, threads ${bigSuite.analyzer.threadCount}, files ${bigSuite.analyzer.fileCount}; 1 warm-up + ${ROUNDS} interleaved rounds`);
  let bigCmp: Comparison;
  let cli: ReturnType<typeof cliRun>;
  try {
    bigCmp = await compare(bigSuite, ROUNDS, false);
    console.log(`  DuckDB limits in both modes: memory_limit ${mb(bigSuite.limits!.memoryBytes)} MB, threads ${bigSuite.limits!.threads}`);
    await bigSuite.ctx.close();
    cli = cliRun(bigSuite);
    csv.push({ suite: bigSuite.name, events: big.rows, run: 1, mode: 'cli_recount_run_wall_incl_startup', duration_ms: ms(cli.wallMs), rows: cli.rows });
  } finally {
    bigSuite.project.cleanup();
  }

  // 2. Per-run overhead on a tiny partition.
  const tinySuite = await openSuite(`${TINY_EVENTS}_events`, tiny);
  console.log(`\n[2] per-run overhead: ${n(tiny.rows)} events, 1 warm-up + ${TINY_ROUNDS} interleaved rounds`);
  let tinyCmp: Comparison;
  try {
    tinyCmp = await compare(tinySuite, TINY_ROUNDS, true);
  } finally {
    await tinySuite.ctx.close();
    tinySuite.project.cleanup();
  }

  const ratio = bigCmp.medianMs.recount / bigCmp.medianMs.raw_duckdb;
  const overhead = tinyCmp.medianMs.recount - tinyCmp.medianMs.raw_duckdb;
  csv.push({ suite: bigSuite.name, events: big.rows, run: 'median', mode: 'ratio_recount_over_raw', duration_ms: Math.round(ratio * 1000) / 1000 });
  csv.push({ suite: bigSuite.name, events: big.rows, run: 'median', mode: 'paired_ratio_recount_over_raw', duration_ms: Math.round(bigCmp.pairedRatio * 1000) / 1000 });
  csv.push({ suite: tinySuite.name, events: tiny.rows, run: 'median', mode: 'overhead_recount_minus_raw', duration_ms: ms(overhead) });
  csv.push({ suite: tinySuite.name, events: tiny.rows, run: 'median', mode: 'paired_overhead_recount_minus_raw', duration_ms: ms(tinyCmp.pairedDiffMs) });

  const rowsRaw = bigCmp.samples.raw_duckdb[0]?.rows;
  const rowsRec = bigCmp.samples.recount[0]?.rows;
  if (rowsRaw !== rowsRec) console.log(`\nWARNING: output rows differ: recount ${rowsRec}, raw DuckDB ${rowsRaw}`);
  const t = new Table({ head: ['', 'raw DuckDB COPY', 'recount runPartition()', 'recount vs raw', 'target'], style: plain });
  t.push(
    [`median wall, ${n(big.rows)} events`, `${ms(bigCmp.medianMs.raw_duckdb).toFixed(1)} ms`, `${ms(bigCmp.medianMs.recount).toFixed(1)} ms`, `${ratio.toFixed(3)}x`, `<= ${MAX_RATIO}x ${verdict(ratio <= MAX_RATIO)}`],
    ['  median of per-round ratios', '', '', `${bigCmp.pairedRatio.toFixed(3)}x`, `<= ${MAX_RATIO}x ${verdict(bigCmp.pairedRatio <= MAX_RATIO)}`],
    [`median CPU, ${n(big.rows)} events`, `${ms(bigCmp.medianCpuMs.raw_duckdb).toFixed(0)} ms`, `${ms(bigCmp.medianCpuMs.recount).toFixed(0)} ms`, `${(bigCmp.medianCpuMs.recount / bigCmp.medianCpuMs.raw_duckdb).toFixed(3)}x`, ''],
    [`peak RSS, ${n(big.rows)} events`, peakMb(bigCmp.samples.raw_duckdb), peakMb(bigCmp.samples.recount), '', ''],
    [`output rows, ${n(big.rows)} events`, String(rowsRaw), String(rowsRec), '', ''],
    [`median wall, ${n(tiny.rows)} events`, `${ms(tinyCmp.medianMs.raw_duckdb).toFixed(1)} ms`, `${ms(tinyCmp.medianMs.recount).toFixed(1)} ms`, `+${ms(overhead).toFixed(1)} ms`, `<= ${MAX_OVERHEAD_MS} ms ${verdict(overhead <= MAX_OVERHEAD_MS)}`],
    ['  median of per-round differences', '', '', `+${ms(tinyCmp.pairedDiffMs).toFixed(1)} ms`, `<= ${MAX_OVERHEAD_MS} ms ${verdict(tinyCmp.pairedDiffMs <= MAX_OVERHEAD_MS)}`],
    [`median CPU, ${n(tiny.rows)} events`, `${ms(tinyCmp.medianCpuMs.raw_duckdb).toFixed(1)} ms`, `${ms(tinyCmp.medianCpuMs.recount).toFixed(1)} ms`, `+${ms(tinyCmp.medianCpuMs.recount - tinyCmp.medianCpuMs.raw_duckdb).toFixed(1)} ms`, ''],
    [`peak RSS, ${n(tiny.rows)} events`, peakMb(tinyCmp.samples.raw_duckdb), peakMb(tinyCmp.samples.recount), '', ''],
  );
  console.log(`\nresults: medians of interleaved rounds (peak RSS: this process's kernel high-water mark per run, Node included)\n${t.toString()}`);
  console.log(`\nwhere recount's time goes, ${n(big.rows)} events:\n${stageProfile(bigCmp.samples.recount)}`);
  console.log(`where recount's time goes, ${n(tiny.rows)} events:\n${stageProfile(tinyCmp.samples.recount)}`);
  console.log(
    `\nCLI, once: \`recount run ${ANALYZER} --partition ${PARTITION}\` on ${n(big.rows)} events took ${ms(cli.wallMs).toFixed(0)} ms wall INCLUDING process start-up, TypeScript loading, project load and recovery; the attempt itself took ${ms(cli.innerMs).toFixed(0)} ms`,
  );
  console.log(`load average at end ${loadavg()[0]!.toFixed(2)} (other work on this machine slows both modes alike; compare ratios, not absolute times)`);
  console.log(`\nCSV: ${writeCsv('core', COLUMNS, csv)}`);
}

await main();
