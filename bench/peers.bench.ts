// Peers benchmark (issue 16): recount side by side with SQLMesh, dbt and Dagster — and a raw DuckDB loop as the
// floor — on the same events, the same SQL and DuckDB threads 2. Needs `bash bench/peers/setup.sh` first.
//
// (1) speed: backfill N hourly partitions with each tool (fresh state each time, rounds interleaved), wall time,
//     per-partition overhead over raw DuckDB, peak RSS of the process tree; every output checked against a DuckDB
//     reference (counts exact, sums within 1e-9 relative). Optionally one big hour (BENCH_PEERS_BIG_EVENTS).
// (2) faults: SIGKILL of the whole process tree at seeded random instants during a backfill, then the tool's own
//     retry; duplicate / missing keys after, and what a concurrent reader saw (complete, absent, mixed, error).
// (3) rerun while reading: one partition rerun a few times while a reader reads it.
// (4) seed 003: a computed DOUBLE among the GROUP BY keys, backfilled and one partition rerun.
// Writes bench/results/peers-*.csv and bench/results/peers.md (the README table).
//
// Scale: BENCH_PEERS_ROWS (events an hour, 20,000), BENCH_PEERS_NS (24,168), BENCH_PEERS_ROUNDS (2 for N <= 24, else 1),
// BENCH_PEERS_BIG_EVENTS (20,000,000; 0 skips), BENCH_PEERS_FAULT_N (24), BENCH_PEERS_KILLS (2), BENCH_PEERS_RERUNS (3),
// BENCH_PEERS_TOOLS (names, comma-separated), BENCH_PEERS_SECTIONS (speed,big,faults,rerun,float).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { cachedEvents } from './lib/dataCache.ts';
import { DATA_DIR, RESULTS_DIR } from './lib/paths.ts';
import { writeCsv, type Cell } from './lib/csv.ts';
import { mb, median } from './lib/stats.ts';
import {
  hours,
  prng,
  readPartition,
  ReadTally,
  referenceByPartition,
  runCmd,
  startReader,
  subsetRoot,
  verify,
  writeReference,
  type RunResult,
  type Verdict,
} from './peers/harness.ts';
import { TOOLS, toolVersion, type Tool, type Workspace } from './peers/tools.ts';

const env = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const ROWS = env('BENCH_PEERS_ROWS', 20_000);
const NS = (process.env.BENCH_PEERS_NS ?? '24,168')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const BIG = env('BENCH_PEERS_BIG_EVENTS', 20_000_000);
const FAULT_N = env('BENCH_PEERS_FAULT_N', 24);
const KILLS = env('BENCH_PEERS_KILLS', 2);
const RERUNS = env('BENCH_PEERS_RERUNS', 3);
const SECTIONS = new Set((process.env.BENCH_PEERS_SECTIONS ?? 'speed,big,faults,rerun,float').split(','));
const WANTED = process.env.BENCH_PEERS_TOOLS?.split(',').map((s) => s.trim());
const tools = TOOLS.filter((t) => !WANTED || WANTED.includes(t.name) || t.name === 'raw duckdb');
const FIRST = '2023-10-12T00';
const SEED = 16;
const WORK = join(DATA_DIR, 'peers-work');

const load = () => loadavg()[0]!.toFixed(1);
const s1 = (msec: number) => (msec / 1000).toFixed(1);
const log = (line: string) => console.log(line);

function freshWorkspace(name: string, events: string, ids: readonly string[], floatKeys = false): Workspace {
  const dir = join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return { dir, events, first: ids[0]!, last: ids[ids.length - 1]!, floatKeys };
}

async function setup(tool: Tool, ws: Workspace): Promise<number> {
  const cmd = tool.setup(ws);
  if (!cmd) return 0;
  const r = await runCmd(cmd);
  if (r.code !== 0) throw new Error(`${tool.name} setup failed (${r.code ?? r.signal}): ${r.stderrTail}`);
  return r.ms;
}

function verdictText(v: Verdict): string {
  if (v.error) return `unreadable: ${v.error}`;
  const bad = v.duplicates + v.missing + v.extra + v.wrong;
  return bad === 0
    ? 'correct'
    : `WRONG (dup ${v.duplicates}, missing ${v.missing}, extra ${v.extra}, wrong values ${v.wrong})`;
}

// ---------------------------------------------------------------------------------------------------------------
// (1) speed

interface SpeedRow {
  tool: string;
  n: number;
  events: number;
  round: number;
  wallMs: number;
  setupMs: number;
  peakRssBytes: number;
  exit: string;
  verdict: string;
  load: string;
}

async function speedRound(
  tool: Tool,
  label: string,
  events: string,
  ids: readonly string[],
  reference: string,
  round: number,
  rows: SpeedRow[],
): Promise<void> {
  const ws = freshWorkspace(`speed-${label}-${tool.name.replace(/ /g, '-')}`, events, ids);
  const setupMs = await setup(tool, ws);
  const l = load();
  const r = await runCmd(tool.backfill(ws));
  const v = await verify(tool.output(ws), reference, false);
  const row: SpeedRow = {
    tool: tool.name,
    n: ids.length,
    events: 0,
    round,
    wallMs: r.ms,
    setupMs,
    peakRssBytes: r.peakTreeRss,
    exit: r.code === 0 ? 'ok' : `exit ${r.code ?? r.signal}`,
    verdict: verdictText(v),
    load: l,
  };
  rows.push(row);
  log(
    `  ${label} round ${round} ${tool.name.padEnd(17)} ${s1(r.ms).padStart(7)} s  ${(r.ms / ids.length).toFixed(0).padStart(6)} ms/partition  peak RSS ${mb(r.peakTreeRss)} MB  ${row.exit}  ${row.verdict}  (load ${l})${r.code !== 0 ? `\n    ${r.stderrTail.split('\n').slice(-3).join('\n    ')}` : ''}`,
  );
  rmSync(ws.dir, { recursive: true, force: true });
}

async function speed(source: string, rowsOut: SpeedRow[]): Promise<void> {
  for (const n of NS) {
    const ids = hours(FIRST, n);
    const events = subsetRoot(source, ids, join(DATA_DIR, `peers-events-${ROWS}x${n}`));
    const reference = join(WORK, `ref-${n}.parquet`);
    await writeReference(events, false, reference);
    const rounds = env('BENCH_PEERS_ROUNDS', n <= 24 ? 2 : 1);
    log(
      `\n(1) speed: ${n} hourly partitions of ${ROWS.toLocaleString('en-US')} events, ${rounds} round(s) interleaved`,
    );
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? tools : [...tools].reverse();
      for (const tool of order) await speedRound(tool, `N=${n}`, events, ids, reference, round, rowsOut);
    }
  }
}

async function big(rowsOut: SpeedRow[]): Promise<void> {
  const data = await cachedEvents({ start: FIRST, hours: 1, rowsPerHour: BIG, seed: 1 }, log);
  const reference = join(WORK, 'ref-big.parquet');
  await writeReference(data.root, false, reference);
  log(`\n(1b) one hour of ${BIG.toLocaleString('en-US')} events`);
  const before = rowsOut.length;
  for (const tool of tools) await speedRound(tool, 'big', data.root, [FIRST], reference, 1, rowsOut);
  for (const r of rowsOut.slice(before)) r.events = BIG;
}

// ---------------------------------------------------------------------------------------------------------------
// (2) faults, (3) rerun while reading

interface FaultRow {
  tool: string;
  kills: number;
  killAtMs: string;
  retries: number;
  finalExit: string;
  duplicates: number;
  missing: number;
  extra: number;
  wrongValues: number;
  afterRerunsDuplicates: number;
  afterRerunsMissing: number;
  reads: number;
  readsComplete: number;
  readsAbsent: number;
  readsMixed: number;
  readsError: number;
  readError: string;
  rerunReads: number;
  rerunComplete: number;
  rerunAbsent: number;
  rerunMixed: number;
  rerunError: string;
  rerunErrors: number;
  rerunFailures: number;
  rerunFailure: string;
}

async function faults(source: string, expectedMs: Map<string, number>, rowsOut: FaultRow[]): Promise<void> {
  const ids = hours(FIRST, FAULT_N);
  const events = subsetRoot(source, ids, join(DATA_DIR, `peers-events-${ROWS}x${FAULT_N}`));
  const reference = join(WORK, `ref-${FAULT_N}.parquet`);
  await writeReference(events, false, reference);
  const expect = await referenceByPartition(reference);
  const random = prng(SEED);
  log(
    `\n(2) faults: ${FAULT_N} partitions, up to ${KILLS} SIGKILLs of the whole process tree at seeded random instants, then the tool's retry; a reader reads meanwhile`,
  );
  for (const tool of tools) {
    const ws = freshWorkspace(`faults-${tool.name.replace(/ /g, '-')}`, events, ids);
    await setup(tool, ws);
    const tally = new ReadTally();
    const reader = startReader(
      () => tool.output(ws),
      () => ids[Math.floor(random() * ids.length)]!,
      expect,
      tally,
    );
    const span = expectedMs.get(tool.name) ?? 30_000;
    const killsAt: number[] = [];
    let last: RunResult | undefined;
    let attempts = 0;
    for (let k = 0; k < KILLS; k++) {
      // within 15–80 % of the tool's own backfill time, so the kill lands in the work (not always in start-up) and before the end
      const at = Math.round(Math.max(300, span * (0.15 + 0.65 * random())));
      attempts++;
      last = await runCmd(tool.backfill(ws), { killAfterMs: at });
      if (!last.killed) break; // finished before its kill instant
      killsAt.push(at);
    }
    let retries = 0;
    if (!last || last.killed) {
      retries++;
      last = await runCmd(tool.backfill(ws));
    }
    await reader.stop();
    const v = await verify(tool.output(ws), reference, false);
    // (3) rerun one partition RERUNS times while a reader reads only it.
    const target = ids[Math.min(5, ids.length - 1)]!;
    const rerunTally = new ReadTally();
    const rerunReader = startReader(
      () => tool.output(ws),
      () => target,
      expect,
      rerunTally,
      10,
    );
    let rerunFailures = 0;
    let rerunFailure = '';
    for (let i = 0; i < RERUNS; i++) {
      const r = await runCmd(tool.rerun(ws, target));
      if (r.code !== 0) {
        rerunFailures++;
        rerunFailure ||= (
          r.stderrTail.match(/"msg":"([^"]+)"/)?.[1] ??
          r.stderrTail.split('\n').filter(Boolean).slice(-1)[0] ??
          ''
        ).slice(0, 300);
      }
      if (r.code !== 0)
        log(
          `    rerun ${i + 1} of ${target} exited ${r.code ?? r.signal}: ${r.stderrTail.split('\n').slice(-8).join(' | ')}`,
        );
    }
    await rerunReader.stop();
    const after = await verify(tool.output(ws), reference, false);
    const row: FaultRow = {
      tool: tool.name,
      kills: killsAt.length,
      killAtMs: killsAt.join(' '),
      retries: attempts - 1 + retries,
      finalExit: last.code === 0 ? 'ok' : `exit ${last.code ?? last.signal}`,
      // after the kills and the retry
      duplicates: v.duplicates,
      missing: v.missing,
      extra: v.extra,
      wrongValues: v.wrong,
      // after the reruns of one partition as well
      afterRerunsDuplicates: after.duplicates,
      afterRerunsMissing: after.missing,
      reads: tally.total,
      readsComplete: tally.counts.complete,
      readsAbsent: tally.counts.absent,
      readsMixed: tally.counts.mixed,
      readsError: tally.counts.error,
      readError: tally.topError(),
      rerunReads: rerunTally.total,
      rerunComplete: rerunTally.counts.complete,
      rerunAbsent: rerunTally.counts.absent,
      rerunMixed: rerunTally.counts.mixed,
      rerunErrors: rerunTally.counts.error,
      rerunError: rerunTally.topError(),
      rerunFailures,
      rerunFailure,
    };
    rowsOut.push(row);
    log(
      `  ${tool.name.padEnd(17)} killed at ${row.killAtMs || '-'} ms; after retry: ${verdictText(v)}; after ${RERUNS} reruns of ${target}: ${verdictText(after)}`,
    );
    log(
      `  ${''.padEnd(17)} reads during backfill: ${tally.total} (complete ${tally.counts.complete}, absent ${tally.counts.absent}, MIXED ${tally.counts.mixed}, error ${tally.counts.error}${tally.topError() ? `: ${tally.topError()}` : ''})`,
    );
    log(
      `  ${''.padEnd(17)} reads during reruns: ${rerunTally.total} (complete ${rerunTally.counts.complete}, absent ${rerunTally.counts.absent}, MIXED ${rerunTally.counts.mixed}, error ${rerunTally.counts.error}${rerunTally.topError() ? `: ${rerunTally.topError()}` : ''})`,
    );
    rmSync(ws.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// (4) seed 003: a float among the keys

interface FloatRow {
  tool: string;
  backfillExit: string;
  rerunExit: string;
  verdict: string;
  duplicates: number;
  missing: number;
  message: string;
}

async function floatKeys(source: string, rowsOut: FloatRow[]): Promise<void> {
  const ids = hours(FIRST, 4);
  const events = subsetRoot(source, ids, join(DATA_DIR, `peers-events-${ROWS}x4`));
  const reference = join(WORK, 'ref-float.parquet');
  await writeReference(events, true, reference);
  log(
    `\n(4) seed 003: round(bid_price, 1) AS bid_bucket (DOUBLE) among the GROUP BY keys; 4 partitions, then one rerun`,
  );
  for (const tool of tools) {
    const ws = freshWorkspace(`float-${tool.name.replace(/ /g, '-')}`, events, ids, true);
    await setup(tool, ws);
    const b = await runCmd(tool.backfill(ws));
    const r = await runCmd(tool.rerun(ws, ids[1]!));
    const v = await verify(tool.output(ws), reference, true);
    const refused = b.code !== 0 && r.code !== 0;
    const message = refused
      ? (
          b.stderrTail.match(/"msg":"([^"]+)"/)?.[1] ??
          b.stderrTail.split('\n').filter(Boolean).slice(-1)[0] ??
          ''
        ).slice(0, 200)
      : '';
    const row: FloatRow = {
      tool: tool.name,
      backfillExit: b.code === 0 ? 'ok' : `exit ${b.code ?? b.signal}`,
      rerunExit: r.code === 0 ? 'ok' : `exit ${r.code ?? r.signal}`,
      verdict: refused ? 'refused' : verdictText(v),
      duplicates: refused ? 0 : v.duplicates,
      missing: refused ? 0 : v.missing,
      message,
    };
    rowsOut.push(row);
    log(
      `  ${tool.name.padEnd(17)} backfill ${row.backfillExit}, rerun ${row.rerunExit}: ${row.verdict}${message ? ` — ${message}` : ''}`,
    );
    rmSync(ws.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------

function table(
  versions: Map<string, string>,
  speedRows: SpeedRow[],
  faultRows: FaultRow[],
  floatRows: FloatRow[],
): string {
  const lines: string[] = [];
  const rawMed = (n: number, ev: number) =>
    median(
      speedRows
        .filter((r) => r.tool === 'raw duckdb' && r.n === n && r.events === ev && r.exit === 'ok')
        .map((r) => r.wallMs),
    );
  const sizes = [...new Set(speedRows.map((r) => `${r.n}:${r.events}`))];
  const sizeHead = sizes.map((s) => {
    const [n, ev] = s.split(':').map(Number);
    return ev ? `1 × ${(ev / 1e6).toFixed(0)} M events: wall, over raw` : `N=${n}: wall / partition, over raw`;
  });
  lines.push(
    `| tool | version | output | ${sizeHead.join(' | ')} | marginal / partition, over raw; fixed start | peak RSS | duplicates | missing | mixed reads | reads refused / failed | float key (seed 003) |`,
  );
  lines.push(`| --- | --- | --- | ${sizes.map(() => '---').join(' | ')} | --- | --- | --- | --- | --- | --- | --- |`);
  for (const tool of tools) {
    const cells = sizes.map((s) => {
      const [n, ev] = s.split(':').map(Number) as [number, number];
      const mine = speedRows.filter((r) => r.tool === tool.name && r.n === n && r.events === ev);
      const ok = mine.filter((r) => r.exit === 'ok');
      if (mine.length === 0) return '';
      if (ok.length === 0) return `failed (${mine[0]!.exit})`;
      const wrong = ok.some((r) => r.verdict !== 'correct') ? ' **WRONG**' : '';
      const per = median(ok.map((r) => r.wallMs)) / n;
      const over = (median(ok.map((r) => r.wallMs)) - rawMed(n, ev)) / n;
      return tool.name === 'raw duckdb'
        ? `${per.toFixed(0)} ms${wrong}`
        : `${per.toFixed(0)} ms, +${over.toFixed(0)} ms${wrong}`;
    });
    // Marginal cost of one more partition, from the two smallest-events N: startup (fixed) separated from per-partition work.
    const ns = [...new Set(speedRows.filter((r) => r.events === 0).map((r) => r.n))].sort((a, b) => a - b);
    let marginal = '';
    if (ns.length >= 2) {
      const [a, b] = [ns[0]!, ns[ns.length - 1]!];
      const med = (t: string, n: number) =>
        median(
          speedRows.filter((r) => r.tool === t && r.n === n && r.events === 0 && r.exit === 'ok').map((r) => r.wallMs),
        );
      const slope = (t: string) => (med(t, b) - med(t, a)) / (b - a);
      const m = slope(tool.name);
      const fixed = med(tool.name, a) - a * m;
      if (Number.isFinite(m))
        marginal =
          tool.name === 'raw duckdb'
            ? `${m.toFixed(0)} ms; start ${s1(fixed)} s`
            : `${m.toFixed(0)} ms, +${(m - slope('raw duckdb')).toFixed(0)} ms; start ${s1(fixed)} s`;
    }
    const peak = Math.max(
      0,
      ...speedRows.filter((r) => r.tool === tool.name && r.events === 0).map((r) => r.peakRssBytes),
    );
    const f = faultRows.find((r) => r.tool === tool.name);
    const fl = floatRows.find((r) => r.tool === tool.name);
    const refusedReads = f ? `${f.readsError + f.rerunErrors} of ${f.reads + f.rerunReads}` : '';
    lines.push(
      `| ${tool.name} | ${versions.get(tool.name)} | ${tool.native} | ${cells.join(' | ')} | ${marginal} | ${peak ? `${mb(peak).toFixed(0)} MB` : ''} | ${f ? f.duplicates : ''} | ${f ? `${f.missing}${f.finalExit !== 'ok' ? ` (retry ${f.finalExit})` : ''}` : ''} | ${f ? f.readsMixed + f.rerunMixed : ''} | ${refusedReads} | ${fl ? fl.verdict : ''} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const t0 = performance.now();
  mkdirSync(WORK, { recursive: true });
  const versions = new Map(tools.map((t) => [t.name, toolVersion(t)]));
  for (const [name, v] of versions) log(`${name.padEnd(17)} ${v}`);
  const maxN = Math.max(FAULT_N, 4, ...NS);
  const data = await cachedEvents({ start: FIRST, hours: maxN, rowsPerHour: ROWS, seed: 1 }, log);
  log(
    `events: ${data.rows.toLocaleString('en-US')} in ${data.partitions.length} hourly partitions (${data.root}); load ${load()} on ${2} shared cores`,
  );

  const speedRows: SpeedRow[] = [];
  const faultRows: FaultRow[] = [];
  const floatRows: FloatRow[] = [];
  // Results are written after every section, so a run cut short still leaves what it measured.
  const report = (final: boolean) => {
    const speedCols = ['tool', 'n', 'events', 'round', 'wallMs', 'setupMs', 'peakRssBytes', 'exit', 'verdict', 'load'];
    const files = [
      writeCsv(
        'peers-speed',
        speedCols,
        speedRows.map(
          (r) =>
            ({ ...r, wallMs: Math.round(r.wallMs), setupMs: Math.round(r.setupMs) }) as unknown as Record<string, Cell>,
        ),
      ),
      writeCsv(
        'peers-faults',
        Object.keys(faultRows[0] ?? { tool: '' }),
        faultRows as unknown as Record<string, Cell>[],
      ),
      writeCsv(
        'peers-float',
        Object.keys(floatRows[0] ?? { tool: '' }),
        floatRows as unknown as Record<string, Cell>[],
      ),
    ];
    const md = table(versions, speedRows, faultRows, floatRows);
    const mdPath = join(RESULTS_DIR, 'peers.md');
    writeFileSync(mdPath, `${md}\n`);
    if (final) {
      log(`\n${md}\n`);
      log(`wrote ${[...files, mdPath].join(', ')} in ${s1(performance.now() - t0)} s`);
    }
  };
  if (SECTIONS.has('speed')) await speed(data.root, speedRows);
  report(false);
  // Kill instants are drawn within each tool's own backfill time of the fault range (from the speed runs when there are any).
  const expectedMs = new Map(
    tools.map((t) => [
      t.name,
      median(speedRows.filter((r) => r.tool === t.name && r.n === FAULT_N && r.events === 0).map((r) => r.wallMs)),
    ]),
  );
  for (const [k, v] of expectedMs) if (!Number.isFinite(v)) expectedMs.delete(k);
  if (SECTIONS.has('faults') || SECTIONS.has('rerun')) await faults(data.root, expectedMs, faultRows);
  report(false);
  if (SECTIONS.has('float')) await floatKeys(data.root, floatRows);
  report(false);
  if (SECTIONS.has('big') && BIG > 0) await big(speedRows);
  report(true);
}

await main();
