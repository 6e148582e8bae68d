// Tiny-partition benchmark (issue 14): what recount costs per partition when the query itself is nearly free.
// (a) `recount backfill` of the hourly analyzer over many small hourly partitions, as a whole process, against a
//     raw loop in one Node process (bench/lib/rawLoop.ts: one DuckDB instance, per partition a view and a
//     `COPY … TO parquet` of the same SQL): per-partition overhead = (recount - raw) / partitions.
// (b) `recount serve --until-idle` with 2 workers over 700+ small hourly partitions: partitions per second.
// Rounds are interleaved (the order alternates), figures are medians; CSV in bench/results/tiny-{backfill,serve}.csv.
// Not a test: nothing asserts.
//
// Sections: BENCH_TINY_SECTIONS=backfill,serve (or a,b); default both.
// Scale: BENCH_TINY_PARTITIONS (200), BENCH_TINY_SERVE_PARTITIONS (725), BENCH_TINY_EVENTS (4000 a partition),
// BENCH_TINY_ROUNDS (3), BENCH_TINY_SERVE_ROUNDS (2). BENCH_TINY_LOAD=0 drops the warehouse load.
// BENCH_TINY_PARALLEL (2) also runs `recount backfill --parallel N` in every round (0 or 1: not).
// BENCH_TINY_COMPARE=<another checkout of recount> also runs that checkout's bin/recount.js in every round, beside
// this one (e.g. the code before a change: before/after figures from one run, under the same machine load).
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadProject } from '../src/config/load.ts';
import { getAnalyzer } from '../src/config/project.ts';
import { planMemory } from '../src/run/budget.ts';
import { openStateStore } from '../src/state/open.ts';
import { cachedEvents } from './lib/dataCache.ts';
import { makeBenchProject } from './lib/project.ts';
import { benchEnv } from './lib/serveDaemon.ts';
import { figuresTable, type Figure } from './lib/figures.ts';
import { median } from './lib/stats.ts';
import { writeCsv, type Cell } from './lib/csv.ts';
import { BENCH_DIR, REPO_DIR } from './lib/paths.ts';

const ANALYZER = 'ad_impressions_hourly';
const START = '2023-10-12T00';
const SEED = 42;
const env = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const PARTITIONS = env('BENCH_TINY_PARTITIONS', 200);
const SERVE_PARTITIONS = env('BENCH_TINY_SERVE_PARTITIONS', 725);
const EVENTS = env('BENCH_TINY_EVENTS', 4000);
const ROUNDS = env('BENCH_TINY_ROUNDS', 3);
const SERVE_ROUNDS = env('BENCH_TINY_SERVE_ROUNDS', 2);
const LOAD = process.env.BENCH_TINY_LOAD !== '0';
const COMPARE = process.env.BENCH_TINY_COMPARE || undefined;
const PARALLEL = env('BENCH_TINY_PARALLEL', 2);
/**
 * The recount checkouts measured: this one, and BENCH_TINY_COMPARE's as 'other'; the backfill also runs this one
 * with --parallel BENCH_TINY_PARALLEL (0: not), as 'parallel'.
 */
const CONTENDERS: { name: string; repo: string; args?: string[] }[] = [
  { name: 'recount', repo: REPO_DIR },
  ...(COMPARE ? [{ name: 'other', repo: COMPARE }] : []),
];
const BACKFILLERS = [
  ...CONTENDERS,
  ...(PARALLEL > 1 ? [{ name: 'parallel', repo: REPO_DIR, args: ['--parallel', String(PARALLEL)] }] : []),
];
const TARGET_OVERHEAD_MS = 20;
const TARGET_SERVE_PER_S = 60;

const SECTION_ALIASES: Record<string, 'backfill' | 'serve'> = {
  a: 'backfill',
  b: 'serve',
  backfill: 'backfill',
  serve: 'serve',
};
const sections = new Set(
  (process.env.BENCH_TINY_SECTIONS ?? 'backfill,serve')
    .split(',')
    .map((s) => SECTION_ALIASES[s.trim()])
    .filter(Boolean),
);
const load1 = () => loadavg()[0]!.toFixed(2);
const fixed = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/**
 * Run a Node process to its end: wall time in ms, exit code, output, and (where /usr/bin/time exists) the CPU
 * seconds it and the children it waited for (serve's workers) used: on a machine shared with other work, CPU
 * time is the steadier measure of what recount costs.
 */
function timed(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv } = {},
): Promise<{ ms: number; cpuMs: number; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const cpuFile = join(tmpdir(), `recount-tiny-cpu-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const [cmd, argv] = TIME
      ? [TIME, ['-f', '%U %S', '-o', cpuFile, process.execPath, ...args]]
      : [process.execPath, args];
    const child = spawn(cmd, argv, { env: benchEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      let cpuMs = Number.NaN;
      try {
        const [user, sys] = readFileSync(cpuFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
        cpuMs = (user! + sys!) * 1000;
        rmSync(cpuFile, { force: true });
      } catch {
        // no /usr/bin/time: wall time only
      }
      resolve({ ms: performance.now() - t0, cpuMs, code, stdout, stderr });
    });
  });
}

const analyzers = [{ name: ANALYZER, example: ANALYZER, load: LOAD }];

async function backfill(figures: Figure[], root: string, partitions: string[]): Promise<void> {
  const ids = partitions.slice(0, PARTITIONS);
  const probe = makeBenchProject({ datasetRoots: { events: root }, analyzers });
  const project = await loadProject(probe.dir);
  const analyzer = getAnalyzer(project, ANALYZER);
  const plan = planMemory(analyzer.memoryBytes, analyzer.threadCount);
  probe.cleanup();
  console.log(
    `\n[a] backfill: ${ANALYZER} over ${ids.length} hourly partitions of ${EVENTS} events (${ids[0]} .. ${ids.at(-1)}), warehouse load ${LOAD ? 'on' : 'off'}; ${ROUNDS} rounds, order alternating; load ${load1()}`,
  );
  const rows: Record<string, Cell>[] = [];
  const raw: number[] = [];
  const rawCpu: number[] = [];
  const rec: Record<string, number[]> = {};
  const recCpu: Record<string, number[]> = {};
  const attemptMs: Record<string, number[]> = {};
  for (let round = 1; round <= ROUNDS; round++) {
    const names = ['raw', ...BACKFILLERS.map((c) => c.name)];
    // Rotate the order round by round, so no contender always runs first (or right after the same one).
    const order = names.map((_, i) => names[(i + round - 1) % names.length]!);
    for (const which of order) {
      if (which === 'raw') {
        const out = mkdtempSync(join(tmpdir(), 'recount-tiny-raw-'));
        try {
          const r = await timed([
            '--import',
            'tsx',
            join(BENCH_DIR, 'lib/rawLoop.ts'),
            JSON.stringify({
              sql: analyzer.sql,
              input: 'events',
              root,
              partitions: ids,
              out,
              memoryBytes: plan.duckdbBytes,
              threads: analyzer.threadCount,
            }),
          ]);
          if (r.code !== 0) throw new Error(`raw loop failed (${r.code}): ${r.stderr.slice(-2000)}`);
          raw.push(r.ms);
          rawCpu.push(r.cpuMs);
          rows.push({
            round,
            which,
            partitions: ids.length,
            wall_ms: Math.round(r.ms),
            per_partition_ms: fixed(r.ms / ids.length, 2),
            cpu_ms: Math.round(r.cpuMs),
            cpu_per_partition_ms: fixed(r.cpuMs / ids.length, 2),
            load1: load1(),
          });
          console.log(
            `  round ${round} raw      ${fixed(r.ms / 1000, 2).padStart(6)} s  ${fixed(r.ms / ids.length, 1).padStart(5)} ms/partition  CPU ${fixed(r.cpuMs / ids.length, 1)} ms/partition  load ${load1()}`,
          );
        } finally {
          rmSync(out, { recursive: true, force: true });
        }
      } else {
        const c = BACKFILLERS.find((x) => x.name === which)!;
        const bp = makeBenchProject({ datasetRoots: { events: root }, analyzers });
        try {
          const r = await timed([
            join(c.repo, 'bin/recount.js'),
            '--project',
            bp.dir,
            '--json',
            'backfill',
            ANALYZER,
            '--from',
            ids[0]!,
            '--to',
            ids.at(-1)!,
            ...(c.args ?? []),
          ]);
          if (r.code !== 0)
            throw new Error(
              `${c.repo}: recount backfill failed (${r.code}): ${r.stderr.slice(-2000)} ${r.stdout.slice(-2000)}`,
            );
          const out = JSON.parse(r.stdout) as { succeeded: number; results: { durationMs?: number }[] };
          if (out.succeeded !== ids.length)
            throw new Error(`${c.repo}: recount backfill published ${out.succeeded} of ${ids.length}`);
          const d = out.results.map((x) => Number(x.durationMs ?? Number.NaN)).filter(Number.isFinite);
          const med = d.length ? median(d) : Number.NaN;
          (attemptMs[which] ??= []).push(med);
          (rec[which] ??= []).push(r.ms);
          (recCpu[which] ??= []).push(r.cpuMs);
          rows.push({
            round,
            which,
            partitions: ids.length,
            wall_ms: Math.round(r.ms),
            per_partition_ms: fixed(r.ms / ids.length, 2),
            cpu_ms: Math.round(r.cpuMs),
            cpu_per_partition_ms: fixed(r.cpuMs / ids.length, 2),
            attempt_median_ms: fixed(med, 1),
            load1: load1(),
          });
          console.log(
            `  round ${round} ${which.padEnd(8)} ${fixed(r.ms / 1000, 2).padStart(6)} s  ${fixed(r.ms / ids.length, 1).padStart(5)} ms/partition  CPU ${fixed(r.cpuMs / ids.length, 1)} ms/partition  (attempt median ${fixed(med, 1)} ms)  load ${load1()}`,
          );
        } finally {
          bp.cleanup();
        }
      }
    }
  }
  const a: Figure[] = [
    {
      metric: `raw loop, ${ids.length} partitions (median)`,
      value: `${fixed(median(raw) / 1000, 2)} s`,
      note: `one process, one DuckDB instance, view + COPY per partition; ${fixed(median(raw) / ids.length, 1)} ms a partition`,
    },
  ];
  for (const c of BACKFILLERS) {
    const walls = rec[c.name]!;
    // Per round: this contender minus the raw loop of the same round.
    const overheads = walls.map((w, i) => (w - raw[i]!) / ids.length);
    const overhead = median(overheads);
    const label =
      c.name === 'recount'
        ? 'recount backfill'
        : c.name === 'parallel'
          ? `recount backfill --parallel ${PARALLEL}`
          : `other (${c.repo}) backfill`;
    a.push(
      {
        metric: `${label}, ${ids.length} partitions (median)`,
        value: `${fixed(median(walls) / 1000, 2)} s`,
        note: `whole process (start-up, recovery, ${LOAD ? 'warehouse load' : 'no load'}); attempt median ${fixed(median(attemptMs[c.name]!), 1)} ms`,
      },
      {
        metric: `${label}: per-partition overhead (median of rounds)`,
        value: `${fixed(overhead, 1)} ms`,
        target: `< ${TARGET_OVERHEAD_MS} ms`,
        ok: overhead < TARGET_OVERHEAD_MS,
        note: `(recount - raw) / partitions per round: ${overheads.map((o) => fixed(o, 1)).join(', ')}; ratio ${fixed(median(walls) / median(raw), 1)}x; load ${load1()}`,
      },
      {
        metric: `${label}: CPU overhead per partition (median of rounds)`,
        value: `${fixed(median(recCpu[c.name]!.map((x, i) => (x - rawCpu[i]!) / ids.length)), 1)} ms`,
        note: `user+sys of the process and its children, minus the raw loop's: steadier than wall time on a busy machine`,
      },
    );
  }
  console.log(`\n(a) backfill\n${figuresTable(a, 'figure')}`);
  figures.push(...a.map((f) => ({ ...f, metric: `(a) ${f.metric}` })));
  console.log(
    `CSV: ${writeCsv('tiny-backfill', ['round', 'which', 'partitions', 'wall_ms', 'per_partition_ms', 'cpu_ms', 'cpu_per_partition_ms', 'attempt_median_ms', 'load1'], rows)}`,
  );
}

async function serve(figures: Figure[], root: string, partitions: string[]): Promise<void> {
  const n = partitions.length;
  console.log(
    `\n[b] serve --until-idle: ${ANALYZER} over ${n} hourly partitions of ${EVENTS} events with 2 workers, warehouse load ${LOAD ? 'on' : 'off'}; ${SERVE_ROUNDS} rounds; load ${load1()}`,
  );
  const rows: Record<string, Cell>[] = [];
  const rates: Record<string, number[]> = {};
  const cpus: Record<string, number[]> = {};
  for (let round = 1; round <= SERVE_ROUNDS; round++) {
    const order = CONTENDERS.map((_, i) => CONTENDERS[(i + round - 1) % CONTENDERS.length]!);
    for (const c of order) {
      const bp = makeBenchProject({
        datasetRoots: { events: root },
        analyzers,
        config: { serve: { minWorkers: 2, maxWorkers: 2 } },
      });
      try {
        const r = await timed([
          join(c.repo, 'bin/recount.js'),
          '--project',
          bp.dir,
          'serve',
          '--until-idle',
          '--min-workers',
          '2',
          '--max-workers',
          '2',
          '--no-dashboard',
          '--no-watch',
        ]);
        if (r.code !== 0) throw new Error(`${c.repo}: recount serve failed (${r.code}): ${r.stderr.slice(-2000)}`);
        const project = await loadProject(bp.dir);
        const store = await openStateStore(project.stateUrl, project.dir);
        let published = 0;
        try {
          for (const p of partitions) if (await store.publishedVersion(ANALYZER, p)) published++;
        } finally {
          await store.close();
        }
        const rate = published / (r.ms / 1000);
        (rates[c.name] ??= []).push(rate);
        (cpus[c.name] ??= []).push(r.cpuMs / published);
        rows.push({
          round,
          which: c.name,
          partitions: n,
          published,
          wall_ms: Math.round(r.ms),
          per_second: fixed(rate, 1),
          cpu_ms: Math.round(r.cpuMs),
          cpu_per_partition_ms: fixed(r.cpuMs / published, 2),
          load1: load1(),
        });
        console.log(
          `  round ${round} ${c.name.padEnd(8)} ${published}/${n} published in ${fixed(r.ms / 1000, 1)} s = ${fixed(rate, 1)} partitions/s  CPU ${fixed(r.cpuMs / published, 1)} ms/partition  load ${load1()}`,
        );
      } finally {
        bp.cleanup();
      }
    }
  }
  const b: Figure[] = CONTENDERS.map((c) => {
    const m = median(rates[c.name]!);
    return {
      metric: `${c.name === 'recount' ? 'serve' : `other (${c.repo}) serve`} --until-idle, ${n} partitions, 2 workers (median)`,
      value: `${fixed(m, 1)} /s`,
      target: `>= ${TARGET_SERVE_PER_S} /s`,
      ok: m >= TARGET_SERVE_PER_S,
      note: `whole process from spawn to exit; rounds ${rates[c.name]!.map((x) => fixed(x, 1)).join(', ')}; CPU (daemon + workers) ${fixed(median(cpus[c.name]!), 1)} ms a partition; load ${load1()}`,
    };
  });
  console.log(`\n(b) serve\n${figuresTable(b, 'figure')}`);
  figures.push(...b.map((f) => ({ ...f, metric: `(b) ${f.metric}` })));
  console.log(
    `CSV: ${writeCsv('tiny-serve', ['round', 'which', 'partitions', 'published', 'wall_ms', 'per_second', 'cpu_ms', 'cpu_per_partition_ms', 'load1'], rows)}`,
  );
}

const figures: Figure[] = [];
const hours = Math.max(PARTITIONS, sections.has('serve') ? SERVE_PARTITIONS : 0);
const events = await cachedEvents({ start: START, hours, rowsPerHour: EVENTS, seed: SEED });
if (sections.has('backfill')) await backfill(figures, events.root, events.partitions);
if (sections.has('serve')) await serve(figures, events.root, events.partitions);
console.log(`\ntiny: summary\n${figuresTable(figures, 'figure')}`);
