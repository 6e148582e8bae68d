// Observability benchmark (issue 5): what the memory monitor, metrics, alerts and a /metrics scrape cost a daemon
// running the bench workload. Two in-process daemons over two copies of the same project, one observed (Observer
// hooks, dashboard server, /metrics scraped every second by another process) and one bare; rounds interleaved, each round reruns the
// same partitions in both. Prints figures; writes bench/results/observe.csv. Not a test: nothing asserts.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import Table from 'cli-table3';
import { getAnalyzer, type Analyzer } from '../src/config/project.ts';
import { Daemon, type AttemptEvent } from '../src/scheduler/daemon.ts';
import { Observer } from '../src/observe/observer.ts';
import { createLogger } from '../src/log.ts';
import { startDashboard, type Dashboard } from '../src/web/server.ts';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadProject } from '../src/config/load.ts';
import { openStateStore } from '../src/state/open.ts';
import type { StateStore } from '../src/state/store.ts';
import type { Project } from '../src/config/project.ts';
import { cachedEvents, type CachedEvents } from './lib/dataCache.ts';
import { registerRecountImport } from './lib/project.ts';
import { REPO_DIR } from './lib/paths.ts';
import { interleave } from './lib/measure.ts';
import { median, ms, verdict } from './lib/stats.ts';
import { writeCsv, type Cell } from './lib/csv.ts';

const ANALYZER = 'ad_impressions_hourly';
const SEED = 42;
const BIG_EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000_000);
const TINY_EVENTS = Number(process.env.BENCH_TINY_EVENTS ?? 1_000);
const TINY_HOURS = Number(process.env.BENCH_TINY_HOURS ?? 12);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const SCRAPE_MS = Number(process.env.BENCH_SCRAPE_MS ?? 1_000);
// BENCH_SUITES=big or tiny runs one suite only.
/** Target from issue 5: observability costs under 2% of run time. */
const MAX_OVERHEAD = 0.02;

type Mode = 'bare' | 'observed';
const MODES: readonly Mode[] = ['observed', 'bare'];
const COLUMNS = [
  'suite',
  'events',
  'partitions',
  'run',
  'mode',
  'wall_ms',
  'daemon_cpu_ms',
  'attempts',
  'samples_kept',
  'scrapes',
];
const csv: Record<string, Cell>[] = [];
const plain = { head: [] as string[], border: [] as string[] };

/** A temp project: the example's config and hourly analyzer (imported, so the bench runs what users get) without its warehouse load, over cached events. */
interface BenchProject {
  readonly dir: string;
  readonly project: Project;
  readonly store: StateStore;
}

async function openProject(eventsRoot: string): Promise<BenchProject> {
  registerRecountImport();
  const dir = mkdtempSync(join(tmpdir(), 'recount-bench-observe-'));
  const example = (f: string) => JSON.stringify(pathToFileURL(join(REPO_DIR, 'examples/ad-tech', f)).href);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'recount-bench-observe', private: true, type: 'module' }),
  );
  mkdirSync(join(dir, 'analyzers'));
  writeFileSync(
    join(dir, 'analyzers', `${ANALYZER}.ts`),
    `import base from ${example(`analyzers/${ANALYZER}.ts`)};\nexport default { ...base, load: undefined };\n`,
  );
  writeFileSync(
    join(dir, 'recount.config.ts'),
    `import base from ${example('recount.config.ts')};\nexport default { ...base, datasets: { ...base.datasets, events: { ...base.datasets.events, root: ${JSON.stringify(eventsRoot)} } } };\n`,
  );
  const project = await loadProject(dir);
  return { dir, project, store: await openStateStore(project.stateUrl, project.dir) };
}

/** One daemon over its own copy of the project, kept warm across rounds. */
interface Runner {
  readonly mode: Mode;
  readonly ctx: BenchProject;
  readonly analyzer: Analyzer;
  readonly daemon: Daemon;
  readonly observer?: Observer;
  readonly dashboard?: Dashboard;
  readonly state: { waiting?: { left: number; failed: string[]; resolve: () => void } };
  /** A child process scraping /metrics (observed mode), stopped between observed rounds. */
  readonly scraper?: ChildProcess;
}

// The scraper: GET /metrics every SCRAPE_MS, check it, count; print the count when told to stop.
const SCRAPER = `const [url, every] = process.argv.slice(1); let n = 0;
const go = async () => { const r = await fetch(url); const t = await r.text(); if (r.status !== 200 || !t.includes('recount_attempts_total')) { console.error('bad scrape', r.status); process.exit(3); } n++; setTimeout(go, Number(every)); };
process.on('SIGTERM', () => { process.stdout.write(String(n)); process.exit(0); }); go();`;

/** Stop a scraper and read how many scrapes it made. */
async function stopScraper(c: ChildProcess): Promise<number> {
  let out = '';
  c.stdout!.on('data', (d) => (out += d));
  c.kill('SIGCONT');
  c.kill('SIGTERM');
  await once(c, 'exit');
  return Number(out);
}

async function startRunner(mode: Mode, events: CachedEvents): Promise<Runner> {
  const ctx = await openProject(events.root);
  const log = createLogger({ pretty: false, level: 'warn' });
  const observer = mode === 'observed' ? new Observer(ctx.project, ctx.store, { log }) : undefined;
  const state: Runner['state'] = {};
  const onAttempt = (e: AttemptEvent) => {
    observer?.hooks.onAttempt(e);
    const w = state.waiting;
    if (!w || !e.final) return;
    if (e.outcome !== 'succeeded') w.failed.push(`${e.partition}: ${e.outcome} ${e.errorCode ?? ''} ${e.error ?? ''}`);
    if (--w.left === 0) w.resolve();
  };
  // No file watching and no rescans during a round: both daemons only run what the bench queues.
  const daemon = new Daemon(ctx.project, ctx.store, {
    minWorkers: 1,
    maxWorkers: 1,
    scanIntervalMs: 3_600_000,
    watch: false,
    log,
    onAttempt,
    ...(observer ? { onMemory: observer.hooks.onMemory } : {}),
  });
  await daemon.start();
  let dashboard: Dashboard | undefined;
  let scraper: ChildProcess | undefined;
  if (observer) {
    observer.start(daemon);
    dashboard = await startDashboard(
      {
        project: ctx.project,
        store: ctx.store,
        metrics: observer.metrics,
        alerter: observer.alerter,
        lag: () => observer.lagSeconds,
      },
      { host: '127.0.0.1', port: 0, log },
    );
    scraper = spawn(process.execPath, ['-e', SCRAPER, `${dashboard.url}metrics`, String(SCRAPE_MS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    scraper.kill('SIGSTOP');
  }
  return { mode, ctx, analyzer: getAnalyzer(ctx.project, ANALYZER), daemon, observer, dashboard, state, scraper };
}

async function stopRunner(r: Runner): Promise<number> {
  const scrapes = r.scraper ? await stopScraper(r.scraper) : 0;
  await r.daemon.stop(10_000);
  await r.observer?.stop(100);
  await r.dashboard?.close();
  await r.ctx.store.close();
  rmSync(r.ctx.dir, { recursive: true, force: true });
  return scrapes;
}

/** Rerun `partitions` (reason manual: they run even though they are up to date) and wait for every attempt. */
async function round(r: Runner, partitions: readonly string[]): Promise<{ wallMs: number; cpuMs: number }> {
  const done = new Promise<void>((resolve) => (r.state.waiting = { left: partitions.length, failed: [], resolve }));
  // The scraper (another process, like Prometheus) runs only during observed rounds.
  r.scraper?.kill('SIGCONT');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const p of partitions) {
    await r.ctx.store.queue.enqueue(
      { analyzer: ANALYZER, partitionId: p, reason: 'manual', maxAttempts: 1, sqlHash: r.analyzer.sqlHash },
      { force: true },
    );
  }
  void r.daemon.tick();
  await done;
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  r.scraper?.kill('SIGSTOP');
  if (r.state.waiting!.failed.length)
    throw new Error(`${r.mode}: attempts failed: ${r.state.waiting!.failed.join('; ')}`);
  await r.observer?.settled();
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

interface SuiteResult {
  readonly name: string;
  readonly partitions: number;
  readonly wall: Record<Mode, number[]>;
  readonly cpu: Record<Mode, number[]>;
  readonly samplesKept: number;
  readonly scrapes: number;
}

async function suite(
  name: string,
  events: CachedEvents,
  partitions: readonly string[],
  rounds: number,
): Promise<SuiteResult> {
  console.log(
    `\n[${name}] ${events.rows.toLocaleString('en-US')} events in ${partitions.length} partition${partitions.length === 1 ? '' : 's'} per round; 1 warm-up + ${rounds} interleaved rounds`,
  );
  const runners = { observed: await startRunner('observed', events), bare: await startRunner('bare', events) };
  const wall: Record<Mode, number[]> = { bare: [], observed: [] };
  const cpu: Record<Mode, number[]> = { bare: [], observed: [] };
  let samplesKept = 0;
  let scrapes = 0;
  try {
    for (const m of MODES) await round(runners[m], partitions);
    await interleave(rounds, MODES, async (mode, n) => {
      const x = await round(runners[mode], partitions);
      wall[mode].push(x.wallMs);
      cpu[mode].push(x.cpuMs);
      csv.push({
        suite: name,
        events: events.rows,
        partitions: partitions.length,
        run: n,
        mode,
        wall_ms: ms(x.wallMs),
        daemon_cpu_ms: ms(x.cpuMs),
        attempts: partitions.length,
      });
      console.log(
        `  round ${n} ${mode.padEnd(8)} ${ms(x.wallMs).toFixed(1).padStart(8)} ms wall ${ms(x.cpuMs).toFixed(1).padStart(7)} ms daemon cpu`,
      );
    });
    // Evidence that the observed daemon really observed: memory samples kept, metrics scraped.
    const attempts = await runners.observed.ctx.store.listAttempts({ analyzer: ANALYZER, limit: 100_000 });
    for (const a of attempts)
      samplesKept += (await runners.observed.ctx.store.observe.samples.forAttempt(a.attempt_id)).length;
  } finally {
    scrapes = await stopRunner(runners.observed);
    await stopRunner(runners.bare);
  }
  return { name, partitions: partitions.length, wall, cpu, samplesKept, scrapes };
}

/**
 * Paired figures of a suite. The CPU share is the primary one: what observing added to the daemon process's CPU
 * time, as a share of the round's run time (bare). The daemon runs beside the worker, so this bounds the wall
 * time observing can cost; the wall-time difference itself is printed too, but on a busy 2-core machine its noise
 * is larger than 2%.
 */
function summarize(r: SuiteResult): { cpuShare: number; wallPaired: number; cpuPerAttemptMs: number } {
  const rounds = r.wall.bare.map((_, i) => i);
  const cpuShare = median(rounds.map((i) => (r.cpu.observed[i]! - r.cpu.bare[i]!) / r.wall.bare[i]!));
  const wallPaired = median(rounds.map((i) => r.wall.observed[i]! / r.wall.bare[i]! - 1));
  const cpuPerAttemptMs = median(rounds.map((i) => r.cpu.observed[i]! - r.cpu.bare[i]!)) / r.partitions;
  for (const mode of MODES)
    csv.push({
      suite: r.name,
      partitions: r.partitions,
      run: 'median',
      mode,
      wall_ms: ms(median(r.wall[mode])),
      daemon_cpu_ms: ms(median(r.cpu[mode])),
      samples_kept: mode === 'observed' ? r.samplesKept : 0,
      scrapes: mode === 'observed' ? r.scrapes : 0,
    });
  return { cpuShare, wallPaired, cpuPerAttemptMs };
}

async function main(): Promise<void> {
  for (const k of Object.keys(process.env)) if (k.startsWith('RECOUNT_FAULT')) delete process.env[k];
  console.log(
    `observe benchmark: ${ANALYZER} through an in-process daemon with 1 worker; ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} at start, Node ${process.version}; /metrics scraped every ${SCRAPE_MS} ms in the observed mode`,
  );
  const big = await cachedEvents({ start: '2023-10-12T00', hours: 1, rowsPerHour: BIG_EVENTS, seed: SEED });
  const tiny = await cachedEvents({ start: '2023-10-12T00', hours: TINY_HOURS, rowsPerHour: TINY_EVENTS, seed: SEED });
  const only = process.env.BENCH_SUITES?.split(',');
  const results: SuiteResult[] = [];
  if (!only || only.includes('big')) results.push(await suite(`${BIG_EVENTS}_events`, big, big.partitions, ROUNDS));
  if (!only || only.includes('tiny'))
    results.push(await suite(`${TINY_EVENTS}_events_x${TINY_HOURS}`, tiny, tiny.partitions, ROUNDS));

  const t = new Table({
    head: [
      'workload',
      'wall, bare',
      'wall, observed',
      'added daemon CPU / attempt',
      'added CPU / run time',
      'wall difference (paired, noisy)',
      'samples kept',
      'scrapes',
      `target < ${MAX_OVERHEAD * 100}%`,
    ],
    style: plain,
  });
  for (const r of results) {
    const s = summarize(r);
    t.push([
      `${r.name} (${r.partitions} attempt${r.partitions === 1 ? '' : 's'}/round)`,
      `${ms(median(r.wall.bare)).toFixed(1)} ms`,
      `${ms(median(r.wall.observed)).toFixed(1)} ms`,
      `${s.cpuPerAttemptMs.toFixed(1)} ms`,
      `${(s.cpuShare * 100).toFixed(2)}%`,
      `${s.wallPaired >= 0 ? '+' : ''}${(s.wallPaired * 100).toFixed(1)}%`,
      String(r.samplesKept),
      String(r.scrapes),
      verdict(s.cpuShare < MAX_OVERHEAD),
    ]);
    csv.push({
      suite: r.name,
      run: 'median',
      mode: 'added_cpu_share_of_run_time',
      wall_ms: Math.round(s.cpuShare * 100_000) / 100_000,
    });
    csv.push({
      suite: r.name,
      run: 'median',
      mode: 'paired_wall_difference',
      wall_ms: Math.round(s.wallPaired * 10_000) / 10_000,
    });
  }
  console.log(
    `\nresults: medians over interleaved rounds; a round reruns the partitions and waits for their last outcome (the worker's run included)\n${t.toString()}`,
  );
  console.log(
    "added CPU: this process's CPU time (both daemons, the observer, the dashboard serving /metrics to a scraper in another process), observed round minus the bare round next to it; as a share of the bare round's wall time it bounds what observing can cost a run",
  );
  const load = loadavg()[0]!;
  console.log(
    `load average at end ${load.toFixed(2)} on ${cpus().length} cores${load > cpus().length ? ' — the machine is busy: wall times are noisy, trust the CPU figures' : ''}`,
  );
  console.log(`\nCSV: ${writeCsv('observe', COLUMNS, csv)}`);
}

await main();
process.exit(0);
