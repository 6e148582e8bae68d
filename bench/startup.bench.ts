// Start-up benchmark (issue 14): recount as whole processes, the way a user and a scheduler run it.
// - `recount --version`, `recount --help` and `recount status` against `node -e 0` (Node's own start);
// - `recount run` on a 4M-event hourly partition against a plain Node script (no TypeScript, no recount)
//   that runs the same DuckDB `COPY` of the same SQL over the same files with the same threads and memory.
// Rounds interleaved, medians; targets: --version under 100 ms, run at most 1.3x the plain script.
// Writes bench/results/startup.csv. Not a test: nothing asserts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Table from 'cli-table3';
import { getAnalyzer } from '../src/config/project.ts';
import { planMemory } from '../src/run/budget.ts';
import { fileList, ident, lit } from '../src/engine/sql.ts';
import { cachedEvents } from './lib/dataCache.ts';
import { makeBenchProject } from './lib/project.ts';
import { interleave } from './lib/measure.ts';
import { median, ms, verdict } from './lib/stats.ts';
import { writeCsv, type Cell } from './lib/csv.ts';
import { REPO_DIR } from './lib/paths.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 4_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const PARTITION = '2023-10-12T00';
const ANALYZER = 'ad_impressions_hourly';
/** The same analyzer without its warehouse load: what the load adds to a run. */
const NO_LOAD = 'ad_impressions_hourly_noload';
const MAX_VERSION_MS = 100;
const MAX_RUN_RATIO = 1.3;
const BIN = join(REPO_DIR, 'bin/recount.js');

/** A plain Node script: DuckDB, the same views over the same files, one COPY. Arguments: a JSON job. */
const RAW_SCRIPT = `
import { DuckDBInstance } from ${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('@duckdb/node-api')).href)};
const job = JSON.parse(process.argv[2]);
const instance = await DuckDBInstance.create(':memory:', { memory_limit: job.memoryLimit, threads: String(job.threads), temp_directory: job.spill });
const conn = await instance.connect();
for (const v of job.views) await conn.run(v);
const reader = await conn.runAndReadAll(job.copy);
process.stdout.write(String(reader.getRowObjectsJson()[0].Count) + '\\n');
conn.closeSync();
instance.closeSync();
`;

type Mode = 'node' | 'version' | 'help' | 'status' | 'raw_copy' | 'run' | 'run_noload';
const LABEL: Record<Mode, string> = {
  node: 'node -e 0',
  version: 'recount --version',
  help: 'recount --help',
  status: 'recount status',
  raw_copy: 'plain Node + DuckDB COPY',
  run: `recount run (${EVENTS / 1e6}M events)`,
  run_noload: 'recount run, no warehouse load',
};

interface Sample {
  readonly mode: Mode;
  readonly round: number;
  readonly ms: number;
  /** CPU of the child process (all its threads), steadier than wall time on a shared machine. */
  readonly cpuMs: number;
  readonly status: number | null;
}

/** CPU time (user + system, ms) of this process's waited-for children so far, from /proc (10 ms ticks); NaN elsewhere. */
function childrenCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return Number.NaN;
  }
}

function timed(mode: Mode, round: number, args: string[], cwd: string): Sample {
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  const wall = performance.now() - t0;
  const cpu = childrenCpuMs() - cpu0;
  if (r.status !== 0)
    console.error(
      `${LABEL[mode]} exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(0, 5).join('\n')}`,
    );
  return { mode, round, ms: wall, cpuMs: cpu, status: r.status };
}

async function main(): Promise<void> {
  console.log(
    `${cpus().length} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${ROUNDS} rounds interleaved`,
  );
  const events = await cachedEvents({ start: PARTITION, hours: 1, rowsPerHour: EVENTS, seed: 42 });
  const project = makeBenchProject({
    datasetRoots: { events: events.root },
    analyzers: [ANALYZER, { name: NO_LOAD, example: ANALYZER, load: false }],
  });
  try {
    const ctx = await project.open();
    const analyzer = getAnalyzer(ctx.project, ANALYZER);
    const threads = analyzer.threadCount;
    const memoryBytes = planMemory(analyzer.memoryBytes, threads).duckdbBytes;
    await ctx.close();
    const partDir = join(events.root, 'dt=2023-10-12', 'hour=00');
    const files = readdirSync(partDir)
      .filter((f) => f.endsWith('.parquet'))
      .sort()
      .map((f) => join(partDir, f));
    const rawDir = join(project.dir, 'raw');
    mkdirSync(rawDir, { recursive: true });
    const script = join(rawDir, 'copy.mjs');
    writeFileSync(script, RAW_SCRIPT);
    const job = JSON.stringify({
      memoryLimit: `${Math.max(1, Math.floor(memoryBytes / 1_000_000))}MB`,
      threads,
      spill: join(rawDir, 'spill'),
      views: [
        `CREATE VIEW ${ident('events')} AS SELECT * FROM read_parquet(${fileList(files)}, hive_partitioning = false)`,
      ],
      copy: `COPY (${analyzer.sql}) TO ${lit(join(rawDir, 'out.parquet'))} (FORMAT parquet)`,
    });
    const argv: Record<Mode, string[]> = {
      node: ['-e', '0'],
      version: [BIN, '--version'],
      help: [BIN, '--help'],
      status: [BIN, 'status', '--project', project.dir],
      raw_copy: [script, job],
      run: [BIN, 'run', ANALYZER, '--partition', PARTITION, '--project', project.dir],
      run_noload: [BIN, 'run', NO_LOAD, '--partition', PARTITION, '--project', project.dir],
    };
    const modes = Object.keys(argv) as Mode[];
    // Warm-up: the bundle of recount's sources, the page cache, a first published version.
    for (const mode of modes) timed(mode, 0, argv[mode], project.dir);
    const samples: Sample[] = [];
    await interleave(ROUNDS, modes, async (mode, round) => {
      samples.push(timed(mode, round, argv[mode], project.dir));
    });
    const ok = (m: Mode) => samples.filter((s) => s.mode === m && s.status === 0);
    const med = Object.fromEntries(modes.map((m) => [m, median(ok(m).map((s) => s.ms))])) as Record<Mode, number>;
    const medCpu = Object.fromEntries(modes.map((m) => [m, median(ok(m).map((s) => s.cpuMs))])) as Record<Mode, number>;
    const t = new Table({ head: ['process', 'median ms', 'min ms', 'max ms', 'median CPU ms', 'failed'] });
    for (const m of modes) {
      const all = samples.filter((s) => s.mode === m).map((s) => s.ms);
      t.push([
        LABEL[m],
        ms(med[m]),
        ms(Math.min(...all)),
        ms(Math.max(...all)),
        ms(medCpu[m]),
        samples.filter((s) => s.mode === m && s.status !== 0).length,
      ]);
    }
    console.log(t.toString());
    const ratio = med.run / med.raw_copy;
    const cpuRatio = medCpu.run / medCpu.raw_copy;
    console.log(
      `recount --version: ${ms(med.version)} ms median (target < ${MAX_VERSION_MS} ms) ${verdict(med.version < MAX_VERSION_MS)}; node -e 0: ${ms(med.node)} ms`,
    );
    console.log(
      `recount run / plain Node COPY: ${ratio.toFixed(2)}x wall (target <= ${MAX_RUN_RATIO}x) ${verdict(ratio <= MAX_RUN_RATIO)}; ${cpuRatio.toFixed(2)}x CPU`,
    );
    console.log(
      `  without the warehouse load: ${(med.run_noload / med.raw_copy).toFixed(2)}x wall, ${(medCpu.run_noload / medCpu.raw_copy).toFixed(2)}x CPU`,
    );
    const rows: Record<string, Cell>[] = samples.map((s) => ({
      mode: s.mode,
      label: LABEL[s.mode],
      round: s.round,
      duration_ms: ms(s.ms),
      cpu_ms: ms(s.cpuMs),
      exit: s.status,
      events: EVENTS,
    }));
    for (const m of modes)
      rows.push({
        mode: m,
        label: LABEL[m],
        round: 'median',
        duration_ms: ms(med[m]),
        cpu_ms: ms(medCpu[m]),
        exit: '',
        events: EVENTS,
      });
    rows.push({
      mode: 'run/raw_copy',
      label: 'ratio',
      round: 'median',
      duration_ms: Math.round(ratio * 100) / 100,
      cpu_ms: Math.round(cpuRatio * 100) / 100,
      exit: '',
      events: EVENTS,
    });
    console.log(
      `wrote ${writeCsv('startup', ['mode', 'label', 'round', 'duration_ms', 'cpu_ms', 'exit', 'events'], rows)}`,
    );
  } finally {
    project.cleanup();
  }
}

await main();
