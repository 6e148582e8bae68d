// Serve benchmark (issue 4): (a) memory pressure — the hourly analyzer over an input ~8x its DuckDB memory_limit,
// attempt after attempt through a real WorkerPool; (b) soak — 2,000 small attempts through one long-lived
// `recount serve`, worker and daemon RSS sampled every 100 attempts; (c) trigger latency from `_SUCCESS` to
// attempt start in a running `recount serve` with file watching on. Prints figures in the form of the first
// seed's table and writes bench/results/serve-{pressure,soak,latency}.csv. Not a test: nothing asserts.
//
// Sections: BENCH_SERVE_SECTIONS=pressure,soak,latency (or a,b,c); default all.
// Scale: BENCH_SERVE_ATTEMPTS (100), BENCH_SERVE_EVENTS (44,000,000), BENCH_SERVE_ADS (100,000), BENCH_SERVE_BUDGET (512MB),
// BENCH_SOAK_ATTEMPTS (2000), BENCH_SOAK_EVERY (100), BENCH_SOAK_WARMUP (500), BENCH_LATENCY_PARTITIONS (50).
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadProject } from '../src/config/load.ts';
import { getAnalyzer, type Analyzer, type Project } from '../src/config/project.ts';
import { parseSize } from '../src/config/size.ts';
import { parsePartition, partitionPath } from '../src/catalog/partition.ts';
import { SUCCESS_MARKER } from '../src/catalog/dataset.ts';
import { resolveInputs } from '../src/run/fingerprint.ts';
import { recover } from '../src/commit/recovery.ts';
import { OutputLayout } from '../src/commit/paths.ts';
import { newAttemptId } from '../src/run/runPartition.ts';
import { openStateStore } from '../src/state/open.ts';
import type { StateStore } from '../src/state/store.ts';
import { planMemory } from '../src/run/budget.ts';
import { WorkerPool } from '../src/worker/pool.ts';
import { DEFAULT_RETRY } from '../src/scheduler/retry.ts';
import { cachedEvents } from './lib/dataCache.ts';
import { makeBenchProject, type BenchProject } from './lib/project.ts';
import { childPids, procCommand, procMemory, resetPeak } from './lib/procMem.ts';
import { startServeDaemon, type ServeDaemon } from './lib/serveDaemon.ts';
import { figuresTable, type Figure } from './lib/figures.ts';
import { snapshotLiveHeap, type LiveHeap } from './lib/heapSnapshot.ts';
import { linearFit, mb, median, ms, percentile, theilSenSlope } from './lib/stats.ts';
import { writeCsv, type Cell } from './lib/csv.ts';

const ANALYZER = 'ad_impressions_hourly';
const SEED = 42;
const env = (name: string, dflt: number) => Number(process.env[name] ?? dflt);

const SECTION_ALIASES: Record<string, Section> = {
  a: 'pressure',
  b: 'soak',
  c: 'latency',
  pressure: 'pressure',
  soak: 'soak',
  latency: 'latency',
};
type Section = 'pressure' | 'soak' | 'latency';

/** Targets from issue 4. */
const TARGET_OOM_PER_100 = 0;
const TARGET_PEAK_OVER_BUDGET = 1.1;
const TARGET_SLOPE_MB_PER_1000 = 1;

const n = (x: number) => x.toLocaleString('en-US');
const fixed = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const load = () => loadavg()[0]!.toFixed(2);
const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

async function openStore(project: Project): Promise<StateStore> {
  return openStateStore(project.stateUrl, project.dir);
}

// ---------------------------------------------------------------------------------------------------------------
// (a) memory pressure

const PRESSURE = {
  partition: '2023-10-12T00',
  attempts: env('BENCH_SERVE_ATTEMPTS', 100),
  events: env('BENCH_SERVE_EVENTS', 44_000_000),
  // 100,000 ads x 20 segments: ~2 M groups, so the aggregate and the sorted output do not fit DuckDB's limit and it
  // must spill. (With the generator's default 1,000 ads the query streams in ~200 MB and never spills.)
  ads: env('BENCH_SERVE_ADS', 100_000),
  budget: process.env.BENCH_SERVE_BUDGET ?? '512MB',
};

interface PressureSample {
  readonly attempt: number;
  readonly outcome: string;
  readonly errorCode?: string;
  readonly wallMs: number;
  readonly workerMs: number;
  readonly peakRssBytes: number;
  readonly peakMethod: 'kernel' | 'sampled';
  readonly idleRssBytes: number;
  readonly spillBytes: number;
  readonly duckdbPeakBytes: number;
  readonly rows: number;
  readonly pid: number;
}

async function pressure(figures: Figure[]): Promise<void> {
  const events = await cachedEvents({
    start: PRESSURE.partition,
    hours: 1,
    rowsPerHour: PRESSURE.events,
    seed: SEED,
    ads: PRESSURE.ads,
  });
  const bp = makeBenchProject({
    datasetRoots: { events: events.root },
    analyzers: [ANALYZER],
    config: { defaults: { memory: PRESSURE.budget } },
  });
  const rows: Record<string, Cell>[] = [];
  const samples: PressureSample[] = [];
  let recycled = 0;
  let store: StateStore | undefined;
  let pool: WorkerPool | undefined;
  try {
    const project = await loadProject(bp.dir);
    const analyzer = getAnalyzer(project, ANALYZER);
    const plan = planMemory(analyzer.memoryBytes, analyzer.threadCount);
    const inputBytes = resolveInputs(project, analyzer, parsePartition(PRESSURE.partition, analyzer.grain))
      .flatMap((r) => r.files)
      .reduce((s, f) => s + f.size, 0);
    const serve = project.config.serve;
    // The pool exactly as `recount serve` configures it from this project (recycling included).
    pool = new WorkerPool({
      projectDir: project.dir,
      maxAttemptsPerWorker: serve.workerMaxAttempts,
      maxIdleRssBytes: parseSize(serve.workerMaxIdleRss, 'serve.workerMaxIdleRss'),
      postmortemDir: resolve(project.dir, serve.postmortemDir),
      onRecycle: () => recycled++,
    });
    store = await openStore(project);
    console.log(
      `\n[a] memory pressure: ${ANALYZER} on ${n(events.rows)} events (${PRESSURE.ads} ads; ${mb(inputBytes).toFixed(0)} MB Parquet) = ${fixed(inputBytes / plan.duckdbBytes, 1)}x DuckDB's memory_limit; ` +
        `budget ${mb(plan.budgetBytes)} MB -> DuckDB ${mb(plan.duckdbBytes)} MB, V8 heap ${plan.heapMb} MB, ${plan.threads} threads; ${PRESSURE.attempts} attempts through one WorkerPool; load ${load()}`,
    );
    for (let i = 1; i <= PRESSURE.attempts; i++) {
      // Reset the worker's kernel high-water mark so its VmHWM afterwards is this attempt's exact peak RSS.
      for (const pid of pool.pids()) resetPeak(pid);
      const attemptId = newAttemptId();
      const t0 = performance.now();
      const o = await pool.run({
        attemptId,
        analyzer: analyzer.name,
        partition: PRESSURE.partition,
        trigger: 'bench',
        plan,
      });
      const wallMs = performance.now() - t0;
      const row = await store.getAttempt(attemptId);
      const pid = row?.pid ?? 0;
      if (o.kind !== 'report') {
        // What the daemon does for a worker killed mid-attempt (markDead): record it, then recover (staging and spill).
        if (row?.status === 'running')
          await store.finishAttempt(attemptId, {
            status: o.kind === 'oom' ? 'oom' : 'crashed',
            error: { code: o.kind === 'oom' ? 'OUT_OF_MEMORY' : 'CRASHED', message: 'worker killed during the bench' },
          });
        await recover(store, new OutputLayout(project.outputRoot), { spillDir: project.spillDir });
      }
      const mem = pid ? procMemory(pid) : undefined;
      const kernel = mem !== undefined && mem.peak > 0 && o.kind === 'report';
      const s: PressureSample = {
        attempt: i,
        outcome: o.kind === 'report' ? (o.report.error?.code === 'OUT_OF_MEMORY' ? 'oom' : o.report.status) : o.kind,
        errorCode:
          o.kind === 'report'
            ? o.report.error?.code
            : o.kind === 'oom'
              ? `OUT_OF_MEMORY (${o.reason})`
              : `CRASHED (${o.signal ?? o.code})`,
        wallMs,
        workerMs: o.kind === 'report' ? o.report.durationMs : Number.NaN,
        peakRssBytes: kernel ? Math.max(mem.peak, o.peakRssBytes) : o.peakRssBytes,
        peakMethod: kernel ? 'kernel' : 'sampled',
        idleRssBytes: mem?.rss ?? 0,
        spillBytes: o.kind === 'report' ? (o.report.spillBytes ?? 0) : Number(row?.spill_bytes ?? 0),
        duckdbPeakBytes: Number(row?.duckdb_peak_bytes ?? 0),
        rows: o.kind === 'report' ? (o.report.rows ?? 0) : 0,
        pid,
      };
      samples.push(s);
      rows.push({
        attempt: i,
        outcome: s.outcome,
        error_code: s.errorCode,
        wall_ms: ms(s.wallMs),
        worker_ms: ms(s.workerMs),
        peak_rss_mb: mb(s.peakRssBytes),
        peak_method: s.peakMethod,
        peak_over_budget: Math.round((s.peakRssBytes / plan.budgetBytes) * 1000) / 1000,
        idle_rss_after_mb: mb(s.idleRssBytes),
        spill_mb: mb(s.spillBytes),
        duckdb_peak_mb: mb(s.duckdbPeakBytes),
        rows: s.rows,
        worker_pid: pid,
        budget_mb: mb(plan.budgetBytes),
        duckdb_limit_mb: mb(plan.duckdbBytes),
        threads: plan.threads,
        input_mb: mb(inputBytes),
        events: events.rows,
        load1: load(),
      });
      console.log(
        `  ${String(i).padStart(3)} ${s.outcome.padEnd(9)} ${fixed(s.wallMs / 1000, 1).padStart(6)} s  peak RSS ${fixed(mb(s.peakRssBytes), 0).padStart(4)} MB (${fixed(s.peakRssBytes / plan.budgetBytes, 3)} of budget, ${s.peakMethod})` +
          `  spill ${fixed(mb(s.spillBytes), 0).padStart(4)} MB  DuckDB peak ${fixed(mb(s.duckdbPeakBytes), 0)} MB  idle after ${fixed(mb(s.idleRssBytes), 0)} MB  rows ${s.rows}${s.errorCode && s.outcome !== 'succeeded' ? `  ${s.errorCode}` : ''}  load ${load()}`,
      );
    }

    const total = samples.length;
    const per100 = (k: number) => (total ? (100 * k) / total : Number.NaN);
    const ooms = samples.filter((s) => s.outcome === 'oom').length;
    const other = samples.filter((s) => s.outcome !== 'oom' && s.outcome !== 'succeeded').length;
    const ok = samples.filter((s) => s.outcome === 'succeeded');
    const ratios = samples.map((s) => s.peakRssBytes / plan.budgetBytes);
    const walls = ok.map((s) => s.wallMs / 1000);
    const maxRatio = Math.max(...ratios);
    const a: Figure[] = [
      {
        metric: `OOM failures (per 100 runs; ${total} runs)`,
        value: fixed(per100(ooms), 1),
        target: `${TARGET_OOM_PER_100}`,
        ok: ooms === 0,
        note: `RSS watchdog kills past the budget and DuckDB Out of Memory errors both count`,
      },
      {
        metric: 'Other failures (per 100 runs)',
        value: fixed(per100(other), 1),
        note: other
          ? [
              ...new Set(
                samples.filter((s) => s.outcome !== 'oom' && s.outcome !== 'succeeded').map((s) => s.errorCode),
              ),
            ].join(', ')
          : 'none',
      },
      {
        metric: `Median attempt time (${n(events.rows)} events)`,
        value: `${fixed(median(walls), 1)} s`,
        note: `p10 ${fixed(percentile(walls, 10), 1)} s, p90 ${fixed(percentile(walls, 90), 1)} s; pool round trip; shared 2-core machine, load ${load()}`,
      },
      {
        metric: 'Peak RSS / budget (max over runs)',
        value: fixed(maxRatio, 3),
        target: `<= ${TARGET_PEAK_OVER_BUDGET}`,
        ok: maxRatio <= TARGET_PEAK_OVER_BUDGET,
        note: `worker VmHWM reset before each attempt; budget ${mb(plan.budgetBytes)} MB`,
      },
      {
        metric: 'Peak RSS / budget (median, p90)',
        value: `${fixed(median(ratios), 3)}, ${fixed(percentile(ratios, 90), 3)}`,
        note: `peak RSS median ${fixed(mb(median(samples.map((s) => s.peakRssBytes))), 0)} MB`,
      },
      {
        metric: 'Spill bytes per attempt (median)',
        value: `${fixed(mb(median(samples.map((s) => s.spillBytes))), 0)} MB`,
        note: `peak of duckdb_temporary_files() sampled every 100 ms; min ${fixed(mb(Math.min(...samples.map((s) => s.spillBytes))), 0)}, max ${fixed(mb(Math.max(...samples.map((s) => s.spillBytes))), 0)} MB`,
      },
      {
        metric: "DuckDB's own peak / its memory_limit (median)",
        value: fixed(median(samples.map((s) => s.duckdbPeakBytes / plan.duckdbBytes)), 2),
        note: `duckdb_memory() sampled every 100 ms; limit ${mb(plan.duckdbBytes)} MB`,
      },
      {
        metric: 'Input / DuckDB memory_limit',
        value: `${fixed(inputBytes / plan.duckdbBytes, 1)}x`,
        target: '~8x',
        note: `${mb(inputBytes).toFixed(0)} MB Parquet, ${n(events.rows)} events, ${PRESSURE.ads} ads`,
      },
      {
        metric: 'Worker idle RSS after attempt (first -> last)',
        value: `${fixed(mb(samples[0]?.idleRssBytes ?? 0), 0)} -> ${fixed(mb(samples.at(-1)?.idleRssBytes ?? 0), 0)} MB`,
        note: `${new Set(samples.map((s) => s.pid)).size} worker process(es); recycled ${recycled} time(s)`,
      },
    ];
    console.log(`\n(a) memory pressure\n${figuresTable(a)}`);
    figures.push(...a.map((f) => ({ ...f, metric: `(a) ${f.metric}` })));
  } finally {
    await pool?.shutdown();
    await store?.close();
    bp.cleanup();
    const cols = [
      'attempt',
      'outcome',
      'error_code',
      'wall_ms',
      'worker_ms',
      'peak_rss_mb',
      'peak_method',
      'peak_over_budget',
      'idle_rss_after_mb',
      'spill_mb',
      'duckdb_peak_mb',
      'rows',
      'worker_pid',
      'budget_mb',
      'duckdb_limit_mb',
      'threads',
      'input_mb',
      'events',
      'load1',
    ];
    if (rows.length) console.log(`CSV: ${writeCsv('serve-pressure', cols, rows)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// (b) soak

const SOAK = {
  start: '2023-10-12T00',
  attempts: env('BENCH_SOAK_ATTEMPTS', 2000),
  every: env('BENCH_SOAK_EVERY', 100),
  warmup: env('BENCH_SOAK_WARMUP', 500),
  eventsPerHour: env('BENCH_SOAK_EVENTS', 1000),
  workers: 2,
  /** Attempts between the two heap snapshots of the live-heap phase (after the RSS soak; 0 skips it). */
  heapAttempts: env('BENCH_SOAK_HEAP_ATTEMPTS', 1000),
};

interface SoakPoint {
  readonly attempts: number;
  readonly daemonRss: number;
  readonly daemonAnon: number;
  readonly workers: { pid: number; attempts: number; rss: number; anon: number }[];
}

/** Wait until the queue holds nothing queued or running (the batch is done); fail if nothing moves for `stallMs`. */
async function drained(store: StateStore, stallMs: number): Promise<void> {
  let last = '';
  let since = Date.now();
  for (;;) {
    const running = await store.queue.list(['running']);
    const backlog = await store.queue.backlog();
    if (backlog === 0 && running.length === 0) return;
    const now = `${backlog}/${running.map((r) => `${r.id}:${r.attempts}`).join(',')}`;
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since > stallMs) {
      throw new Error(
        `soak: no progress for ${stallMs} ms (${backlog} queued; running: ${running.map((r) => `${r.partition_id} attempt ${r.last_attempt_id}`).join(', ')})`,
      );
    }
    await sleep(100);
  }
}

/** A growth figure: least-squares slope ± its standard error, the 95% upper bound, and the outlier-proof Theil–Sen slope. */
function slopeFigure(pts: { x: number; y: number }[]): { slope: number; upper: number; text: string; robust: string } {
  const fit = linearFit(pts);
  const upper = fit.slope + 2 * fit.slopeStdErr;
  return {
    slope: fit.slope,
    upper,
    text: `${fixed(fit.slope, 2)} ± ${fixed(fit.slopeStdErr, 2)}`,
    robust: `95% upper ${fixed(upper, 1)}, Theil-Sen ${fixed(theilSenSlope(pts), 2)}`,
  };
}

async function soak(figures: Figure[]): Promise<void> {
  // One partition per attempt of a batch: at most one queued run per partition, and no two workers race one partition.
  const hours = SOAK.every;
  const events = await cachedEvents({ start: SOAK.start, hours, rowsPerHour: SOAK.eventsPerHour, seed: SEED });
  const bp = makeBenchProject({
    datasetRoots: { events: events.root },
    // Without the example's start, so serve's own scans (lookbackHours 1) never queue the 2023 data: the bench queues every run.
    analyzers: [{ name: ANALYZER, example: ANALYZER, start: false }],
    // Recycling off, so each worker's growth shows whole (recycling is the mitigation, not the measurement).
    // lookbackHours 1: the 2023 data is never queued by the daemon's own scans; the bench queues every run.
    config: {
      serve: {
        minWorkers: SOAK.workers,
        maxWorkers: SOAK.workers,
        workerMaxAttempts: 1_000_000,
        workerMaxIdleRss: '64GB',
        lookbackHours: 1,
      },
    },
  });
  const points: SoakPoint[] = [];
  const csv: Record<string, Cell>[] = [];
  let daemon: ServeDaemon | undefined;
  let store: StateStore | undefined;
  try {
    const project = await loadProject(bp.dir);
    const analyzer = getAnalyzer(project, ANALYZER);
    store = await openStore(project);
    // SIGUSR2 makes any recount process write a heap snapshot (after a full GC): the live-heap phase's probe.
    // Workers get it through the environment; their own --diagnostic-dir is the project's postmortem folder.
    const snapDirs = [
      mkdtempSync(join(tmpdir(), 'recount-soak-heap-')),
      resolve(bp.dir, project.config.serve.postmortemDir),
    ];
    daemon = startServeDaemon(bp.dir, ['--min-workers', String(SOAK.workers), '--max-workers', String(SOAK.workers)], {
      keep: (l) => l.msg === 'daemon started',
      env: {
        NODE_OPTIONS:
          `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapDirs[0]}`.trim(),
      },
    });
    await daemon.waitForLog('daemon started', (l) => l.msg === 'daemon started', 60_000, true);
    console.log(
      `\n[b] soak: ${n(SOAK.attempts)} attempts of ${ANALYZER} on ${n(SOAK.eventsPerHour)}-event partitions through one \`recount serve\` (pid ${daemon.pid}) with ${SOAK.workers} workers, recycling off; idle RSS sampled every ${SOAK.every} attempts; load ${load()}`,
    );
    const sample = async (done: number) => {
      await sleep(300); // let the last attempt's worker finish closing DuckDB and the daemon settle
      const byPid = new Map<number, number>();
      for (const a of await store!.listAttempts({ analyzer: ANALYZER, limit: 1_000_000 }))
        byPid.set(a.pid, (byPid.get(a.pid) ?? 0) + 1);
      const d = procMemory(daemon!.pid);
      // Worker processes only: tsx also runs an esbuild service as a child of the daemon.
      const workers = childPids(daemon!.pid)
        .filter((pid) => procCommand(pid).includes('bin/worker.js'))
        .map((pid) => {
          const m = procMemory(pid);
          return { pid, attempts: byPid.get(pid) ?? 0, rss: m.rss, anon: m.anon };
        });
      const p: SoakPoint = { attempts: done, daemonRss: d.rss, daemonAnon: d.anon, workers };
      points.push(p);
      csv.push({
        attempts: done,
        process: 'daemon',
        pid: daemon!.pid,
        process_attempts: done,
        rss_mb: mb(d.rss),
        anon_mb: mb(d.anon),
        load1: load(),
      });
      for (const w of workers)
        csv.push({
          attempts: done,
          process: 'worker',
          pid: w.pid,
          process_attempts: w.attempts,
          rss_mb: mb(w.rss),
          anon_mb: mb(w.anon),
          load1: load(),
        });
      console.log(
        `  ${String(done).padStart(5)} attempts  daemon ${fixed(mb(d.rss), 1)} MB (anon ${fixed(mb(d.anon), 1)})  ` +
          workers
            .map((w) => `worker ${w.pid}: ${fixed(mb(w.rss), 1)} MB (anon ${fixed(mb(w.anon), 1)}) after ${w.attempts}`)
            .join('  ') +
          `  load ${load()}`,
      );
    };
    await sample(0);
    const maxAttempts = (analyzer.retries ?? DEFAULT_RETRY).max;
    const runBatch = async (batch: number) => {
      for (let h = 0; h < batch; h++) {
        const q = await store!.queue.enqueue({
          analyzer: ANALYZER,
          partitionId: events.partitions[h]!,
          reason: 'manual',
          maxAttempts,
          sqlHash: analyzer.sqlHash,
        });
        if (!q) throw new Error(`soak: could not queue ${events.partitions[h]} (a run is still queued or running)`);
      }
      await drained(store!, 5 * 60_000);
    };
    const t0 = performance.now();
    let done = 0;
    while (done < SOAK.attempts) {
      const batch = Math.min(SOAK.every, SOAK.attempts - done);
      await runBatch(batch);
      done += batch;
      await sample(done);
    }
    const took = (performance.now() - t0) / 1000;

    // Live JS heap, after the RSS series (a snapshot's own allocations would disturb it): a heap snapshot of each
    // process (V8 collects fully first), SOAK.heapAttempts more attempts, another. What stays alive across them
    // is what a leak in JavaScript would be; RSS also moves with allocator and heap-capacity slack.
    const heapRows: Figure[] = [];
    if (SOAK.heapAttempts > 0) {
      const pidsNow = () => [
        daemon!.pid,
        ...childPids(daemon!.pid).filter((pid) => procCommand(pid).includes('bin/worker.js')),
      ];
      const attemptsBy = async () => {
        const m = new Map<number, number>();
        for (const a of await store!.listAttempts({ analyzer: ANALYZER, limit: 1_000_000 }))
          m.set(a.pid, (m.get(a.pid) ?? 0) + 1);
        return m;
      };
      const before = new Map<number, LiveHeap>();
      for (const pid of pidsNow()) before.set(pid, await snapshotLiveHeap(pid, snapDirs));
      const countsBefore = await attemptsBy();
      for (let d = 0; d < SOAK.heapAttempts; d += SOAK.every)
        await runBatch(Math.min(SOAK.every, SOAK.heapAttempts - d));
      const countsAfter = await attemptsBy();
      for (const pid of pidsNow()) {
        const a = before.get(pid);
        if (!a) continue;
        const b = await snapshotLiveHeap(pid, snapDirs);
        const isDaemon = pid === daemon.pid;
        const ran = isDaemon ? SOAK.heapAttempts : (countsAfter.get(pid) ?? 0) - (countsBefore.get(pid) ?? 0);
        const per1000 = (bytes: number) => (ran > 0 ? bytes / 1e6 / (ran / 1000) : NaN);
        const growth = per1000(b.totalBytes - a.totalBytes);
        heapRows.push({
          metric: `${isDaemon ? 'Daemon' : `Worker ${pid}`} live JS heap growth (MB / 1,000 attempts)`,
          value: fixed(growth, 2),
          target: `< ${TARGET_SLOPE_MB_PER_1000}`,
          ok: growth < TARGET_SLOPE_MB_PER_1000,
          note: `heap snapshots (full GC first) around ${n(ran)} ${isDaemon ? '' : 'of its '}attempts: ${fixed(a.totalBytes / 1e6, 2)} -> ${fixed(b.totalBytes / 1e6, 2)} MB live, of which compiled code ${fixed(per1000(b.codeBytes - a.codeBytes), 2)} MB / 1,000 (JIT warm-up); objects ${n(a.objects)} -> ${n(b.objects)}`,
        });
      }
      rmSync(snapDirs[0]!, { recursive: true, force: true });
    }
    const attempts = await store.listAttempts({ analyzer: ANALYZER, limit: 1_000_000 });
    const failed = attempts.filter((a) => a.status !== 'succeeded');

    // Slopes after warm-up, in MB per 1,000 attempts: workers against their own attempt count, the daemon against all.
    const after = points.filter((p) => p.attempts >= SOAK.warmup);
    const pids = [...new Set(points.flatMap((p) => p.workers.map((w) => w.pid)))];
    const b: Figure[] = [];
    const slopes: number[] = [];
    for (const pid of pids) {
      const series = after.flatMap((p) => p.workers.filter((w) => w.pid === pid));
      const all = points.flatMap((p) => p.workers.filter((w) => w.pid === pid));
      const rss = slopeFigure(series.map((w) => ({ x: w.attempts / 1000, y: mb(w.rss) })));
      const anon = slopeFigure(series.map((w) => ({ x: w.attempts / 1000, y: mb(w.anon) })));
      const whole = slopeFigure(all.map((w) => ({ x: w.attempts / 1000, y: mb(w.rss) })));
      slopes.push(rss.slope);
      const first = all[0];
      const last = all.at(-1);
      b.push({
        metric: `Worker ${pid} RSS slope after warm-up (MB / 1,000 attempts)`,
        value: rss.text,
        target: `< ${TARGET_SLOPE_MB_PER_1000}`,
        ok: rss.slope < TARGET_SLOPE_MB_PER_1000,
        note: `${rss.robust}; ${series.length} samples over its attempts ${series[0]?.attempts ?? '?'}..${series.at(-1)?.attempts ?? '?'}; anon ${anon.text}; incl. warm-up ${whole.text}; RSS ${fixed(mb(first?.rss ?? 0), 1)} -> ${fixed(mb(last?.rss ?? 0), 1)} MB over ${last?.attempts ?? 0} attempts`,
      });
    }
    const dr = slopeFigure(after.map((p) => ({ x: p.attempts / 1000, y: mb(p.daemonRss) })));
    const da = slopeFigure(after.map((p) => ({ x: p.attempts / 1000, y: mb(p.daemonAnon) })));
    const dAll = slopeFigure(points.map((p) => ({ x: p.attempts / 1000, y: mb(p.daemonRss) })));
    b.push({
      metric: 'Daemon process RSS slope after warm-up (MB / 1,000 attempts)',
      value: dr.text,
      target: `< ${TARGET_SLOPE_MB_PER_1000}`,
      ok: dr.slope < TARGET_SLOPE_MB_PER_1000,
      note: `${dr.robust}; \`recount serve\` itself (owns the pool); ${after.length} samples; anon ${da.text}; incl. warm-up ${dAll.text}; RSS ${fixed(mb(points[0]!.daemonRss), 1)} -> ${fixed(mb(points.at(-1)!.daemonRss), 1)} MB`,
    });
    b.push({
      metric: 'Attempts not succeeded',
      value: `${failed.length} of ${attempts.length}`,
      note: failed.length
        ? [...new Set(failed.map((a) => `${a.status} ${a.error_code}`))].join(', ')
        : `${fixed(took, 0)} s for ${n(SOAK.attempts)} attempts (${fixed((1000 * took) / SOAK.attempts, 0)} ms each, ${SOAK.workers} at a time)`,
    });
    b.push(...heapRows);
    b.push({
      metric: 'Worker processes used',
      value: String(pids.length),
      note: `warm-up: first ${SOAK.warmup} attempts excluded from the slopes; ± is the slope's standard error; idle RSS moves ±5 MB between samples with what the last attempt touched and when V8 last collected`,
    });
    console.log(`\n(b) soak\n${figuresTable(b)}`);
    figures.push(...b.map((f) => ({ ...f, metric: `(b) ${f.metric}` })));
    if (daemon.problems().length)
      console.log(
        `daemon warnings/errors: ${daemon.problems().length}, first: ${JSON.stringify(daemon.problems()[0])}`,
      );
  } finally {
    const code = await daemon?.stop();
    if (code !== undefined && code !== 0) console.log(`recount serve exited ${code}`);
    await store?.close();
    bp.cleanup();
    if (csv.length)
      console.log(
        `CSV: ${writeCsv('serve-soak', ['attempts', 'process', 'pid', 'process_attempts', 'rss_mb', 'anon_mb', 'load1'], csv)}`,
      );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// (c) trigger latency

const LATENCY = {
  start: '2023-10-13T00',
  partitions: env('BENCH_LATENCY_PARTITIONS', 50),
  eventsPerHour: 1000,
  /** Pause between one partition's attempt finishing and the next landing, so no latency includes queueing. */
  gapMs: env('BENCH_LATENCY_GAP_MS', 500),
};

/**
 * How a partition lands, taken in turn: Parquet written then `_SUCCESS` written; the files copied in one by one,
 * `_SUCCESS` last; the hour folder renamed into place with `_SUCCESS` inside (an atomic writer, a Hadoop/Spark job
 * commit); a whole new dt= folder renamed into place. The clock starts at the marker's mtime, or at the rename.
 */
const WAYS = ['marker', 'copy', 'rename-hour', 'rename-day'] as const;
type Way = (typeof WAYS)[number];

async function latency(figures: Figure[]): Promise<void> {
  const source = await cachedEvents({
    start: LATENCY.start,
    hours: LATENCY.partitions + 1,
    rowsPerHour: LATENCY.eventsPerHour,
    seed: SEED,
  });
  // Not under bench/.data: the daemon's watcher ignores dot-named paths, so a root named `.landing` would never be watched.
  const landing = mkdtempSync(join(tmpdir(), 'recount-bench-landing-'));
  // Partitions are prepared here and renamed into the dataset (same filesystem, so rename(2) is atomic).
  const staging = mkdtempSync(join(tmpdir(), 'recount-bench-staging-'));
  const bp = makeBenchProject({
    datasetRoots: { events: landing },
    analyzers: [ANALYZER],
    config: { serve: { minWorkers: 1, maxWorkers: 2, lookbackHours: 1_000_000 } },
  });
  const csv: Record<string, Cell>[] = [];
  let daemon: ServeDaemon | undefined;
  let store: StateStore | undefined;
  try {
    const project = await loadProject(bp.dir);
    const analyzer: Analyzer = getAnalyzer(project, ANALYZER);
    store = await openStore(project);
    const isStart = (l: { msg?: string }) => l.msg === 'attempt started';
    // Debug level for the daemon's 'partition ready' line: it tells a trigger by the file watcher from one by the rescan.
    daemon = startServeDaemon(bp.dir, [], {
      keep: (l) => l.msg === 'daemon started' || l.msg === 'partition ready' || l.msg === 'watching dataset folders',
      env: { RECOUNT_LOG_LEVEL: 'debug' },
    });
    await daemon.waitForLog('daemon started', (l) => l.msg === 'daemon started', 60_000, true);
    await daemon.waitForLog('the file watcher ready', (l) => l.msg === 'watching dataset folders', 60_000, true);
    console.log(
      `\n[c] trigger latency: ${LATENCY.partitions} hourly partitions (after 1 warm-up) landed one by one (in turn: ${WAYS.join(', ')}) into a running \`recount serve\` (watching on, rescan every ${project.config.serve.scanIntervalMs / 1000} s); load ${load()}`,
    );
    const toLog: number[] = [];
    const toWorker: number[] = [];
    const toDone: number[] = [];
    let byRescan = 0;
    const byWay = new Map<Way, { toLog: number[]; byRescan: number }>(WAYS.map((w) => [w, { toLog: [], byRescan: 0 }]));
    // One more partition than measured: the first lands on a cold daemon (its first worker process starts then).
    for (const [i, sourceId] of source.partitions.entries()) {
      const warm = i === 0;
      const way: Way = warm ? 'marker' : WAYS[(i - 1) % WAYS.length]!;
      const from = join(source.root, partitionPath(parsePartition(sourceId, 'hour')), 'part-00000.parquet');
      // A whole dt= folder renamed in must be a day not there yet: the same hour's events, a day of 2024 of its own.
      const id =
        way === 'rename-day'
          ? `2024-01-${String(1 + Math.floor(i / WAYS.length)).padStart(2, '0')}T${sourceId.slice(11, 13)}`
          : sourceId;
      const p = parsePartition(id, 'hour');
      const dir = join(landing, partitionPath(p));
      const started = daemon.waitForLog(
        `attempt started for ${id}`,
        (l) => isStart(l) && l.partition === id && l.analyzer === analyzer.name,
        120_000,
      );
      const succeeded = daemon.waitForLog(
        `attempt succeeded for ${id}`,
        (l) => l.msg === 'attempt succeeded' && l.partition === id,
        180_000,
      );
      let markedAt: number;
      if (way === 'marker' || way === 'copy') {
        mkdirSync(dir, { recursive: true });
        copyFileSync(from, join(dir, 'part-00000.parquet'));
        const marker = join(dir, SUCCESS_MARKER);
        if (way === 'marker') writeFileSync(marker, '');
        else {
          writeFileSync(join(staging, SUCCESS_MARKER), '');
          copyFileSync(join(staging, SUCCESS_MARKER), marker);
        }
        // The marker's mtime, as a reader of the dataset would date it (the kernel's coarse clock: a few ms granularity).
        markedAt = Number(statSync(marker, { bigint: true }).mtimeNs) / 1e6;
      } else {
        const prepared = join(staging, `p${i}`, partitionPath(p));
        mkdirSync(prepared, { recursive: true });
        copyFileSync(from, join(prepared, 'part-00000.parquet'));
        writeFileSync(join(prepared, SUCCESS_MARKER), '');
        if (way === 'rename-hour') {
          mkdirSync(join(dir, '..'), { recursive: true });
          renameSync(prepared, dir);
        } else renameSync(join(prepared, '..'), join(dir, '..'));
        markedAt = Date.now();
      }
      const line = await started;
      await succeeded;
      const attempt = await store.getAttempt(String(line.attempt));
      const seen = daemon.kept().find((l) => l.msg === 'partition ready' && l.partition === id);
      const logMs = Number(line.time) - markedAt;
      const workerMs = attempt ? Date.parse(attempt.started_at) - markedAt : Number.NaN;
      const doneMs = attempt?.finished_at ? Date.parse(attempt.finished_at) - markedAt : Number.NaN;
      const how = seen && Number(seen.time) <= Number(line.time) ? 'watcher' : 'rescan';
      if (!warm) {
        toLog.push(logMs);
        toWorker.push(workerMs);
        toDone.push(doneMs);
        if (how === 'rescan') byRescan++;
        byWay.get(way)!.toLog.push(logMs);
        if (how === 'rescan') byWay.get(way)!.byRescan++;
      }
      csv.push({
        partition: id,
        counted: !warm,
        way,
        trigger: how,
        marker_mtime_ms: Math.round(markedAt),
        to_watcher_ms: seen ? ms(Number(seen.time) - markedAt) : undefined,
        to_attempt_started_log_ms: ms(logMs),
        to_worker_started_at_ms: ms(workerMs),
        to_finished_ms: ms(doneMs),
        load1: load(),
      });
      if (warm || how === 'rescan')
        console.log(
          `  ${id} (${way}): ${warm ? 'warm-up (not counted), ' : ''}${how}, 'attempt started' after ${fixed(logMs, 0)} ms, worker began after ${fixed(workerMs, 0)} ms`,
        );
      await sleep(LATENCY.gapMs);
    }
    console.log(`  _SUCCESS -> 'attempt started' (ms): ${toLog.map((x) => x.toFixed(0)).join(' ')}`);
    const spread = (xs: number[]) =>
      `min ${fixed(Math.min(...xs), 0)}, p90 ${fixed(percentile(xs, 90), 0)}, max ${fixed(Math.max(...xs), 0)} ms`;
    const c: Figure[] = [
      {
        metric: `Trigger latency _SUCCESS -> 'attempt started', median (${toLog.length} partitions)`,
        value: `${fixed(median(toLog), 0)} ms`,
        note: `marker mtime to the daemon's log line (queued, claimed, attempt row begun); ${spread(toLog)}`,
      },
      {
        metric: 'Partitions found by the rescan, not the watcher',
        value: `${byRescan} of ${toLog.length}`,
        note: `no 'partition ready' line from the file watcher before the attempt started`,
      },
      { metric: "Trigger latency _SUCCESS -> 'attempt started', p99", value: `${fixed(percentile(toLog, 99), 0)} ms` },
      {
        metric: '_SUCCESS -> attempt started_at in the worker, median',
        value: `${fixed(median(toWorker), 0)} ms`,
        note: `the state store's started_at, written by the worker as runPartition begins; p99 ${fixed(percentile(toWorker, 99), 0)} ms; ${spread(toWorker)}`,
      },
      {
        metric: '_SUCCESS -> attempt finished (published), median',
        value: `${fixed(median(toDone), 0)} ms`,
        note: `${n(LATENCY.eventsPerHour)} events a partition; p99 ${fixed(percentile(toDone, 99), 0)} ms`,
      },
      ...WAYS.map((w) => {
        const x = byWay.get(w)!;
        return {
          metric: `Landed by ${w}: landing -> 'attempt started', median (${x.toLog.length} partitions)`,
          value: `${fixed(median(x.toLog), 0)} ms`,
          note: `max ${fixed(Math.max(...x.toLog), 0)} ms; found by the rescan: ${x.byRescan}`,
        };
      }),
    ];
    console.log(`\n(c) trigger latency\n${figuresTable(c)}`);
    figures.push(...c.map((f) => ({ ...f, metric: `(c) ${f.metric}` })));
    if (daemon.problems().length)
      console.log(
        `daemon warnings/errors: ${daemon.problems().length}, first: ${JSON.stringify(daemon.problems()[0])}`,
      );
  } finally {
    const code = await daemon?.stop();
    if (code !== undefined && code !== 0) console.log(`recount serve exited ${code}`);
    await store?.close();
    bp.cleanup();
    rmSync(landing, { recursive: true, force: true });
    rmSync(staging, { recursive: true, force: true });
    if (csv.length)
      console.log(
        `CSV: ${writeCsv('serve-latency', ['partition', 'counted', 'way', 'trigger', 'marker_mtime_ms', 'to_watcher_ms', 'to_attempt_started_log_ms', 'to_worker_started_at_ms', 'to_finished_ms', 'load1'], csv)}`,
      );
  }
}

// ---------------------------------------------------------------------------------------------------------------

function sections(): Section[] {
  const raw = process.env.BENCH_SERVE_SECTIONS;
  if (!raw) return ['pressure', 'soak', 'latency'];
  const out: Section[] = [];
  for (const s of raw
    .split(',')
    .map((x) => x.trim().toLowerCase())
    .filter(Boolean)) {
    const name = SECTION_ALIASES[s];
    if (!name)
      throw new Error(`BENCH_SERVE_SECTIONS: unknown section '${s}'; known: pressure (a), soak (b), latency (c)`);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

async function main(): Promise<void> {
  for (const k of Object.keys(process.env)) if (k.startsWith('RECOUNT_FAULT')) delete process.env[k];
  const wanted = sections();
  console.log(
    `serve benchmark: ${wanted.join(', ')}; ${cpus().length} cores, load average ${load()} at start, Node ${process.version}`,
  );
  const figures: Figure[] = [];
  const run: Record<Section, (f: Figure[]) => Promise<void>> = { pressure, soak, latency };
  for (const s of wanted) await run[s](figures);
  console.log(
    `\nissue 4 benchmarks, all figures (load average at end ${load()}: other work on this 2-core machine slows everything; read ratios and slopes, not absolute times)\n${figuresTable(figures)}`,
  );
}

await main();
