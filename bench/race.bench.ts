// Race benchmark (issue 12): BENCH_RACE_ROUNDS (100) rounds of two `recount run` processes of one partition held at
// the `before-claim` barrier until both have staged, so they really overlap; every round must end with exactly one
// winner and one superseded attempt, both begun on the same published version, the winner on base + 1.
// Prints winners/superseded counts and writes bench/results/race.csv (a row per round). Exits 1 on any other outcome.
// Scale: BENCH_RACE_ROUNDS (100), BENCH_RACE_EVENTS (50,000 events in the hour).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cachedEvents } from './lib/dataCache.ts';
import { writeCsv, type Cell } from './lib/csv.ts';
import { makeBenchProject } from './lib/project.ts';
import { REPO_DIR } from './lib/paths.ts';

const ANALYZER = 'ad_impressions_hourly';
const PARTITION = '2023-10-12T00';
const ROUNDS = Number(process.env.BENCH_RACE_ROUNDS ?? 100);
const EVENTS = Number(process.env.BENCH_RACE_EVENTS ?? 50_000);

interface Outcome {
  readonly code: number | null;
  readonly status: string;
  readonly version?: number;
  readonly attemptId?: string;
  readonly stderr: string;
}

function runOnce(dir: string, barrierDir: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NO_COLOR: '1',
      RECOUNT_BARRIER: 'before-claim',
      RECOUNT_BARRIER_DIR: barrierDir,
      RECOUNT_BARRIER_PARTIES: '2',
    };
    delete env.RECOUNT_FAULT;
    const child = spawn(
      process.execPath,
      [join(REPO_DIR, 'bin/recount.js'), '--project', dir, '--json', 'run', ANALYZER, '--partition', PARTITION],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: { status?: string; version?: number; attemptId?: string } = {};
      try {
        json = JSON.parse(out);
      } catch {
        json = {};
      }
      resolve({
        code,
        status: json.status ?? 'no-result',
        version: json.version,
        attemptId: json.attemptId,
        stderr: err,
      });
    });
  });
}

async function main(): Promise<number> {
  const events = await cachedEvents({ start: PARTITION, hours: 1, rowsPerHour: EVENTS, seed: 12 });
  const bp = makeBenchProject({
    datasetRoots: { events: events.root },
    analyzers: [{ name: ANALYZER, example: ANALYZER, load: false }],
  });
  const rows: Record<string, Cell>[] = [];
  let winners = 0;
  let superseded = 0;
  let bad = 0;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const t0 = performance.now();
      const runs = await Promise.all([
        runOnce(bp.dir, join(bp.dir, `barrier-${round}`)),
        runOnce(bp.dir, join(bp.dir, `barrier-${round}`)),
      ]);
      const ms = performance.now() - t0;
      const ctx = await bp.open();
      let bases: number[] = [];
      let winnerOnNext = false;
      try {
        const attempts = await Promise.all(
          runs.map((r) => (r.attemptId ? ctx.store.getAttempt(r.attemptId) : undefined)),
        );
        bases = attempts.map((a) => a?.base_seq ?? -1);
        const w = runs.findIndex((r) => r.status === 'succeeded');
        winnerOnNext = w >= 0 && runs[w]!.version === bases[w]! + 1;
      } finally {
        await ctx.close();
      }
      const statuses = runs.map((r) => r.status);
      const won = statuses.filter((s) => s === 'succeeded').length;
      const lost = statuses.filter((s) => s === 'superseded').length;
      winners += won;
      superseded += lost;
      const ok = won === 1 && lost === 1 && bases[0] === bases[1] && winnerOnNext;
      if (!ok) {
        bad++;
        console.log(
          `round ${round}: ${statuses.join(' + ')} on bases ${bases.join('/')}: NOT one winner and one superseded\n${runs.map((r) => r.stderr.trim()).join('\n')}`,
        );
      }
      rows.push({
        round,
        a: statuses[0],
        b: statuses[1],
        base_a: bases[0],
        base_b: bases[1],
        winner_version: runs.find((r) => r.status === 'succeeded')?.version,
        ok,
        ms: Math.round(ms),
      });
      if (round % 10 === 0)
        console.log(`round ${round}/${ROUNDS}: winners ${winners}, superseded ${superseded}, other ${bad}`);
    }
  } finally {
    bp.cleanup();
  }
  const csv = writeCsv('race', ['round', 'a', 'b', 'base_a', 'base_b', 'winner_version', 'ok', 'ms'], rows);
  const times = rows.map((r) => Number(r.ms)).sort((x, y) => x - y);
  console.log(
    `\nrace: ${ROUNDS} rounds of 2 overlapping runs (${EVENTS.toLocaleString('en')} events): winners ${winners}, superseded ${superseded}, rounds not exactly 1+1: ${bad}`,
  );
  console.log(`round time median ${times[Math.floor(times.length / 2)]} ms, max ${times[times.length - 1]} ms; ${csv}`);
  return bad === 0 && winners === ROUNDS && superseded === ROUNDS ? 0 : 1;
}

process.exitCode = await main();
