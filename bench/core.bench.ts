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
/** The same analyzer keeping the example's warehouse load after every publish (issue 3's work), measured alongside. */
const LOAD_ANALYZER = 'ad_impressions_hourly_load';
const PARTITION = '2023-10-12T00';
const SEED = 42;
const BIG_EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000_000);
const TINY_EVENTS = Number(process.env.BENCH_TINY_EVENTS ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
const TINY_ROUNDS = Number(process.env.BENCH_TINY_ROUNDS ?? 30);
/** Targets from issue 2. */
const MAX_RATIO = 1.25;
const MAX_OVERHEAD_MS = 50;

type Mode = 'raw_duckdb' | 'recount' | 'recount_load';
/** recount first: its warm-up tells raw DuckDB the memory limit and threads recount actually gave DuckDB. */
const MODES: readonly Mode[] = ['recount', 'raw_duckdb', 'recount_load'];
const LABEL: Record<Mode, string> = {
  raw_duckdb: 'raw DuckDB COPY',
  recount: 'recount runPartition()',
  recount_load: '+ warehouse load',
};
const COLUMNS = [
  'suite',
  'events',
  'run',
  'mode',
  'oom',
  'duration_ms',
  'cpu_ms',
  'peak_rss_mb',
  'start_rss_mb',
  'rows',
];
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
  readonly analyzers: Record<'recount' | 'recount_load', Analyzer>;
  readonly inputFiles: string[];
  /** DuckDB's memory limit and threads as recount set them (from the first manifest); raw DuckDB gets the same. */
  limits?: { memoryBytes: number; threads: number };
}

async function openSuite(name: string, events: CachedEvents): Promise<Suite> {
  const project = makeBenchProject({
    datasetRoots: { events: events.root },
    analyzers: [
      { name: ANALYZER, example: ANALYZER, load: false },
      { name: LOAD_ANALYZER, example: ANALYZER },
    ],
  });
  const ctx = await project.open();
  const analyzers = {
    recount: getAnalyzer(ctx.project, ANALYZER),
    recount_load: getAnalyzer(ctx.project, LOAD_ANALYZER),
  };
  if (!analyzers.recount_load.load)
    throw new Error(`the example analyzer ${ANALYZER} no longer declares a load target; update bench/core.bench.ts`);
  const inputFiles = resolveInputs(
    ctx.project,
    analyzers.recount,
    parsePartition(PARTITION, analyzers.recount.grain),
  ).flatMap((r) => r.files.map((f) => f.absPath));
  return { name, events, project, ctx, analyzers, inputFiles };
}

/** One run of one mode; throws on anything but success or out of memory, so a broken run never becomes a figure. */
async function runOnce(s: Suite, mode: Mode, round: number): Promise<Sample> {
  if (mode === 'raw_duckdb') {
    const limits = s.limits!;
    const m = await measure(() =>
      rawDuckdbCopy({
        sql: s.analyzers.recount.sql,
        inputs: { events: s.inputFiles },
        out: join(s.project.dir, 'raw.parquet'),
        memoryBytes: limits.memoryBytes,
        threads: limits.threads,
        spillDir: join(s.project.dir, 'raw-spill'),
      }),
    );
    if (m.value.error && !m.value.oom) throw new Error(`raw DuckDB failed: ${m.value.error}`);
    return {
      mode,
      round,
      ms: m.ms,
      cpuMs: m.cpuMs,
      peakBytes: m.peakBytes,
      startBytes: m.startBytes,
      rows: m.value.rows,
      oom: m.value.oom,
    };
  }
  const m = await measure(() => runPartition(s.ctx, s.analyzers[mode], PARTITION, { trigger: 'bench' }));
  const r = m.value;
  const oom = r.error?.code === 'OUT_OF_MEMORY';
  if (r.status !== 'succeeded' && !oom)
    throw new Error(`recount run ${r.status}: ${r.error?.message ?? r.warnings.join('; ')}`);
  if (r.warnings.length > 0)
    throw new Error(`recount run warned (a failed load or prune would skew the figures): ${r.warnings.join('; ')}`);
  const manifest = r.publishedPath
    ? (JSON.parse(readFileSync(join(r.publishedPath, MANIFEST_FILE), 'utf8')) as Manifest)
    : undefined;
  if (manifest && !s.limits)
    s.limits = { memoryBytes: manifest.provenance.memoryLimitBytes, threads: manifest.provenance.threads };
  return {
    mode,
    round,
    ms: m.ms,
    cpuMs: m.cpuMs,
    peakBytes: m.peakBytes,
    startBytes: m.startBytes,
    rows: r.rows ?? 0,
    oom,
    manifest,
  };
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

/** How one mode did against raw DuckDB. */
interface VsRaw {
  /** median(mode) / median(raw). */
  readonly ratio: number;
  /** median(mode) - median(raw), ms. */
  readonly diffMs: number;
  /** Median over rounds of mode/raw within the round: load from other processes hits both runs of a round alike. */
  readonly pairedRatio: number;
  readonly pairedDiffMs: number;
  /** Best (least disturbed) round of each mode: what an otherwise idle machine would come closest to. */
  readonly minRatio: number;
  readonly minDiffMs: number;
  readonly cpuRatio: number;
  readonly cpuDiffMs: number;
}

interface Comparison {
  readonly samples: Record<Mode, Sample[]>;
  readonly medianMs: Record<Mode, number>;
  readonly medianCpuMs: Record<Mode, number>;
  readonly vsRaw: Record<'recount' | 'recount_load', VsRaw>;
}

/** Warm up once per mode (not counted), then `rounds` interleaved rounds; every run goes to the CSV. */
async function compare(s: Suite, rounds: number, quiet: boolean): Promise<Comparison> {
  const samples: Record<Mode, Sample[]> = { raw_duckdb: [], recount: [], recount_load: [] };
  for (const mode of MODES) record(s, 'warmup', await runOnce(s, mode, 0));
  await interleave(rounds, MODES, async (mode, round) => {
    const x = await runOnce(s, mode, round);
    samples[mode].push(x);
    record(s, round, x);
    if (!quiet) {
      console.log(
        `  round ${round} ${mode.padEnd(12)} ${ms(x.ms).toFixed(1).padStart(8)} ms wall ${ms(x.cpuMs).toFixed(0).padStart(6)} ms cpu  peak RSS ${mb(x.peakBytes).toFixed(1)} MB  rows ${x.rows}${x.oom ? '  OOM' : ''}`,
      );
    }
  });
  const med = (mode: Mode, f: (x: Sample) => number) => median(samples[mode].map(f));
  const medianMs = {
    raw_duckdb: med('raw_duckdb', (x) => x.ms),
    recount: med('recount', (x) => x.ms),
    recount_load: med('recount_load', (x) => x.ms),
  };
  const medianCpuMs = {
    raw_duckdb: med('raw_duckdb', (x) => x.cpuMs),
    recount: med('recount', (x) => x.cpuMs),
    recount_load: med('recount_load', (x) => x.cpuMs),
  };
  const vs = (mode: 'recount' | 'recount_load'): VsRaw => {
    const pairs = samples[mode].map((r) => ({ r, w: samples.raw_duckdb.find((w) => w.round === r.round)! }));
    return {
      ratio: medianMs[mode] / medianMs.raw_duckdb,
      diffMs: medianMs[mode] - medianMs.raw_duckdb,
      pairedRatio: median(pairs.map(({ r, w }) => r.ms / w.ms)),
      pairedDiffMs: median(pairs.map(({ r, w }) => r.ms - w.ms)),
      minRatio: Math.min(...samples[mode].map((x) => x.ms)) / Math.min(...samples.raw_duckdb.map((x) => x.ms)),
      minDiffMs: Math.min(...samples[mode].map((x) => x.ms)) - Math.min(...samples.raw_duckdb.map((x) => x.ms)),
      cpuRatio: medianCpuMs[mode] / medianCpuMs.raw_duckdb,
      cpuDiffMs: medianCpuMs[mode] - medianCpuMs.raw_duckdb,
    };
  };
  const comparison: Comparison = {
    samples,
    medianMs,
    medianCpuMs,
    vsRaw: { recount: vs('recount'), recount_load: vs('recount_load') },
  };
  for (const mode of MODES) {
    const xs = samples[mode];
    csv.push({
      suite: s.name,
      events: s.events.rows,
      run: 'median',
      mode,
      oom: xs.some((x) => x.oom),
      duration_ms: ms(medianMs[mode]),
      cpu_ms: ms(medianCpuMs[mode]),
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
  for (const n of names)
    row(`${n} (manifest timingsMs)`, median(xs.map((x) => x.manifest!.provenance.timingsMs[n] ?? 0)));
  row(
    'state store, sha256, manifest, publish, prune (the rest)',
    median(xs.map((x) => x.ms - Object.values(x.manifest!.provenance.timingsMs).reduce((a, b) => a + b, 0))),
  );
  t.push(['total runPartition()', ms(total).toFixed(1), '100%']);
  return t.toString();
}

function cli(args: string[]): { wallMs: number; stdout: string; stderr: string; status: number | null } {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of Object.keys(env)) if (k.startsWith('RECOUNT_FAULT')) delete env[k];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(REPO_DIR, 'bin/recount.js'), ...args], { encoding: 'utf8', env });
  return { wallMs: performance.now() - t0, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** `recount --version` (start-up alone, also warming any start-up cache), then one `recount run` through the CLI. */
function cliRun(s: Suite): { startupMs: number; wallMs: number; innerMs: number; rows: number } {
  const version = cli(['--version']);
  const r = cli(['--project', s.project.dir, '--json', 'run', ANALYZER, '--partition', PARTITION]);
  let json: { durationMs?: number; rows?: number };
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new Error(`recount run via the CLI printed no JSON (exit ${r.status}): ${r.stderr || r.stdout}`);
  }
  if (r.status !== 0) throw new Error(`recount run via the CLI exited ${r.status}: ${r.stdout}`);
  return { startupMs: version.wallMs, wallMs: r.wallMs, innerMs: json.durationMs ?? Number.NaN, rows: json.rows ?? 0 };
}

const n = (x: number) => x.toLocaleString('en-US');
const peakMb = (xs: readonly Sample[]) => `${mb(Math.max(...xs.map((x) => x.peakBytes))).toFixed(0)} MB`;

function resultsTable(c: Comparison, events: number, target: 'ratio' | 'overhead'): string {
  const t = new Table({ head: [`${n(events)} events`, ...MODES.map((m) => LABEL[m])].map(String), style: plain });
  const cols = (f: (m: Mode) => string) => MODES.map(f);
  t.push(['median wall', ...cols((m) => `${ms(c.medianMs[m]).toFixed(1)} ms`)]);
  t.push(['median CPU (all threads)', ...cols((m) => `${ms(c.medianCpuMs[m]).toFixed(1)} ms`)]);
  t.push(['peak RSS (max of rounds)', ...cols((m) => peakMb(c.samples[m]))]);
  t.push(['output rows', ...cols((m) => String(c.samples[m][0]?.rows ?? ''))]);
  const vs = (m: Mode, f: (v: VsRaw) => string) => (m === 'raw_duckdb' ? '' : f(c.vsRaw[m]));
  if (target === 'ratio') {
    t.push([
      `vs raw: ratio of medians (target <= ${MAX_RATIO})`,
      ...cols((m) =>
        vs(m, (v) => `${v.ratio.toFixed(3)}x${m === 'recount' ? ` ${verdict(v.ratio <= MAX_RATIO)}` : ''}`),
      ),
    ]);
    t.push(['vs raw: median of per-round ratios', ...cols((m) => vs(m, (v) => `${v.pairedRatio.toFixed(3)}x`))]);
    t.push(['vs raw: ratio of best rounds', ...cols((m) => vs(m, (v) => `${v.minRatio.toFixed(3)}x`))]);
    t.push(['vs raw: CPU ratio', ...cols((m) => vs(m, (v) => `${v.cpuRatio.toFixed(3)}x`))]);
  } else {
    t.push([
      `vs raw: difference of medians (target <= ${MAX_OVERHEAD_MS} ms)`,
      ...cols((m) =>
        vs(
          m,
          (v) => `+${ms(v.diffMs).toFixed(1)} ms${m === 'recount' ? ` ${verdict(v.diffMs <= MAX_OVERHEAD_MS)}` : ''}`,
        ),
      ),
    ]);
    t.push([
      'vs raw: median of per-round differences',
      ...cols((m) => vs(m, (v) => `+${ms(v.pairedDiffMs).toFixed(1)} ms`)),
    ]);
    t.push(['vs raw: difference of best rounds', ...cols((m) => vs(m, (v) => `+${ms(v.minDiffMs).toFixed(1)} ms`))]);
    t.push(['vs raw: CPU difference', ...cols((m) => vs(m, (v) => `+${ms(v.cpuDiffMs).toFixed(1)} ms`))]);
  }
  return t.toString();
}

function summaryRows(s: Suite, c: Comparison): void {
  for (const m of ['recount', 'recount_load'] as const) {
    const v = c.vsRaw[m];
    const row = (mode: string, value: number) =>
      csv.push({ suite: s.name, events: s.events.rows, run: 'median', mode, duration_ms: value });
    row(`${m}_over_raw_ratio`, Math.round(v.ratio * 1000) / 1000);
    row(`${m}_over_raw_paired_ratio`, Math.round(v.pairedRatio * 1000) / 1000);
    row(`${m}_minus_raw_ms`, ms(v.diffMs));
    row(`${m}_minus_raw_paired_ms`, ms(v.pairedDiffMs));
    row(`${m}_over_raw_best_ratio`, Math.round(v.minRatio * 1000) / 1000);
    row(`${m}_minus_raw_best_ms`, ms(v.minDiffMs));
  }
}

async function main(): Promise<void> {
  for (const k of Object.keys(process.env)) if (k.startsWith('RECOUNT_FAULT')) delete process.env[k];
  console.log(
    `core benchmark: ${ANALYZER} on one hourly partition; ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} at start, Node ${process.version}`,
  );
  const big = await cachedEvents({ start: PARTITION, hours: 1, rowsPerHour: BIG_EVENTS, seed: SEED });
  const tiny = await cachedEvents({ start: PARTITION, hours: 1, rowsPerHour: TINY_EVENTS, seed: SEED });

  // 1. The big partition: raw DuckDB vs recount, interleaved; then once through the CLI.
  const bigSuite = await openSuite(`${BIG_EVENTS}_events`, big);
  const a = bigSuite.analyzers.recount;
  console.log(
    `\n[1] ${n(big.rows)} events (${bigSuite.inputFiles.length} Parquet file under ${big.root}); analyzer budget ${mb(a.memoryBytes)} MB, threads ${a.threadCount}, files ${a.fileCount}; 1 warm-up + ${ROUNDS} interleaved rounds`,
  );
  let bigCmp: Comparison;
  let cliFigures: ReturnType<typeof cliRun>;
  try {
    bigCmp = await compare(bigSuite, ROUNDS, false);
    console.log(
      `  DuckDB in every mode: memory_limit ${mb(bigSuite.limits!.memoryBytes)} MB, threads ${bigSuite.limits!.threads}`,
    );
    await bigSuite.ctx.close();
    cliFigures = cliRun(bigSuite);
    csv.push({
      suite: bigSuite.name,
      events: big.rows,
      run: 1,
      mode: 'cli_version_wall_startup_only',
      duration_ms: ms(cliFigures.startupMs),
    });
    csv.push({
      suite: bigSuite.name,
      events: big.rows,
      run: 1,
      mode: 'cli_recount_run_wall_incl_startup',
      duration_ms: ms(cliFigures.wallMs),
      rows: cliFigures.rows,
    });
  } finally {
    bigSuite.project.cleanup();
  }
  summaryRows(bigSuite, bigCmp);

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
  summaryRows(tinySuite, tinyCmp);

  const rowsRaw = bigCmp.samples.raw_duckdb[0]?.rows;
  if (MODES.some((m) => bigCmp.samples[m][0]?.rows !== rowsRaw))
    console.log(`\nWARNING: output rows differ between modes`);
  console.log(
    `\nresults: medians of interleaved rounds; peak RSS is this process's kernel high-water mark during each run (Node included)`,
  );
  console.log(resultsTable(bigCmp, big.rows, 'ratio'));
  console.log(resultsTable(tinyCmp, tiny.rows, 'overhead'));
  console.log(
    `\nwhere recount's time goes (recount mode, no load), ${n(big.rows)} events:\n${stageProfile(bigCmp.samples.recount)}`,
  );
  console.log(
    `where recount's time goes (recount mode, no load), ${n(tiny.rows)} events:\n${stageProfile(tinyCmp.samples.recount)}`,
  );
  console.log(
    `\nCLI, once: \`recount run ${ANALYZER} --partition ${PARTITION}\` (no load) on ${n(big.rows)} events: ${ms(cliFigures.wallMs).toFixed(0)} ms wall INCLUDING process start-up, project loading and recovery; the attempt itself ${ms(cliFigures.innerMs).toFixed(0)} ms; \`recount --version\` alone ${ms(cliFigures.startupMs).toFixed(0)} ms`,
  );
  console.log(
    `load average at end ${loadavg()[0]!.toFixed(2)} (other work on this machine slows every mode; compare within rounds, not absolute times)`,
  );
  console.log(`\nCSV: ${writeCsv('core', COLUMNS, csv)}`);
}

await main();
