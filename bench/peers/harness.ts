// Harness of the peers bench: datasets of exactly N partitions, a DuckDB reference, checking a tool's output
// against it, running a command while sampling its process tree's RSS, killing it at an instant, and a reader.
import { spawn } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { childPids } from '../lib/procMem.ts';
import { lit } from '../../src/engine/sql.ts';
import type { Cmd, OutputSource } from './tools.ts';
import { hourDate, hourId } from './tools.ts';
export { prng } from '../../test/helpers/prng.ts';

/** Hour ids first..first+n-1. */
export function hours(first: string, n: number): string[] {
  const t0 = hourDate(first).getTime();
  return Array.from({ length: n }, (_, i) => hourId(new Date(t0 + i * 3_600_000)));
}

const folderOf = (id: string) => `dt=${id.slice(0, 10)}/hour=${id.slice(11, 13)}`;

/** A dataset root with exactly `ids`' partitions of `source`, hard-linked (no copy, and nothing else visible to a glob or a scan). */
export function subsetRoot(source: string, ids: readonly string[], dest: string): string {
  for (const id of ids) {
    const from = join(source, folderOf(id));
    const to = join(dest, folderOf(id));
    if (existsSync(join(to, '_SUCCESS'))) continue;
    mkdirSync(to, { recursive: true });
    // data first, _SUCCESS last, as a producer would
    const files = readdirSync(from).sort((a, b) => (a === '_SUCCESS' ? 1 : b === '_SUCCESS' ? -1 : a.localeCompare(b)));
    for (const f of files) if (!existsSync(join(to, f))) linkSync(join(from, f), join(to, f));
  }
  return dest;
}

async function withDuckdb<T>(
  path: string,
  readOnly: boolean,
  fn: (q: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>,
): Promise<T> {
  const instance = await DuckDBInstance.create(path, {
    threads: '1',
    ...(readOnly ? { access_mode: 'READ_ONLY' } : {}),
  });
  const conn = await instance.connect();
  try {
    return await fn(async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[]);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

const keyCols = (floatKeys: boolean) => `hour_start, ad_id, user_segment${floatKeys ? ', bid_bucket' : ''}`;

/** The reference: the analyzer's result per hour computed by DuckDB over the whole dataset root, as Parquet. */
export async function writeReference(events: string, floatKeys: boolean, out: string): Promise<void> {
  const extra = floatKeys ? 'round(bid_price, 1) AS bid_bucket,' : '';
  await withDuckdb(':memory:', false, async (q) => {
    await q(`SET threads = 2`);
    await q(`COPY (SELECT date_trunc('hour', ts) AS hour_start, ad_id, user_segment, ${extra}
                   count(*)::BIGINT AS impression_count, sum(bid_price) AS total_bid
            FROM read_parquet(${lit(join(events, '*/*/*.parquet'))}) WHERE event_type = 'impression'
            GROUP BY ALL) TO ${lit(out)} (FORMAT parquet)`);
  });
}

/** SELECT over a tool's output normalised to the reference's columns (optionally one partition's folder only). */
function outputSelect(src: OutputSource, floatKeys: boolean, partition?: string): string {
  const extra = floatKeys ? 'bid_bucket,' : '';
  if (src.kind === 'parquet') {
    const glob = partition ? join(src.root, folderOf(partition), '*.parquet') : join(src.root, '*/*/*.parquet');
    return `SELECT (dt::DATE::TIMESTAMP + to_hours(hour::BIGINT)) AS hour_start, ad_id, user_segment, ${extra}
                   impression_count::BIGINT AS impression_count, total_bid
            FROM read_parquet(${lit(glob)}, hive_partitioning = true, hive_types = {'dt': DATE, 'hour': BIGINT})`;
  }
  const where = partition ? `WHERE hour_start = TIMESTAMP ${lit(partition.replace('T', ' ') + ':00:00')}` : '';
  return `SELECT hour_start, ad_id, user_segment, ${extra} impression_count::BIGINT AS impression_count, total_bid FROM ${src.table} ${where}`;
}

/** A tool's output against the reference: keys duplicated, missing, extra, and rows with a wrong count or sum. */
export interface Verdict {
  readonly rows: number;
  readonly duplicates: number;
  readonly missing: number;
  readonly extra: number;
  readonly wrong: number;
  readonly error?: string;
}

/** Compare everything a tool published with the reference (counts exact, sums within 1e-9 relative). */
export async function verify(src: OutputSource, reference: string, floatKeys: boolean): Promise<Verdict> {
  const keys = keyCols(floatKeys);
  const path = src.kind === 'duckdb' ? src.file : ':memory:';
  try {
    return await withDuckdb(path, src.kind === 'duckdb', async (q) => {
      const [r] = await q(`
        WITH o AS (${outputSelect(src, floatKeys)}),
             od AS (SELECT ${keys}, count(*) AS n, sum(impression_count) AS c, sum(total_bid) AS s FROM o GROUP BY ALL),
             ref AS (SELECT * FROM read_parquet(${lit(reference)}))
        SELECT (SELECT count(*) FROM o)::BIGINT AS rows,
               (SELECT coalesce(sum(n - 1), 0) FROM od WHERE n > 1)::BIGINT AS duplicates,
               (SELECT count(*) FROM ref ANTI JOIN od USING (${keys}))::BIGINT AS missing,
               (SELECT count(*) FROM od ANTI JOIN ref USING (${keys}))::BIGINT AS extra,
               (SELECT count(*) FROM od JOIN ref r USING (${keys})
                 WHERE od.n = 1 AND (od.c <> r.impression_count OR abs(od.s - r.total_bid) > 1e-9 * greatest(1, abs(r.total_bid))))::BIGINT AS wrong`);
      return {
        rows: Number(r!.rows),
        duplicates: Number(r!.duplicates),
        missing: Number(r!.missing),
        extra: Number(r!.extra),
        wrong: Number(r!.wrong),
      };
    });
  } catch (err) {
    return { rows: 0, duplicates: 0, missing: -1, extra: 0, wrong: 0, error: (err as Error).message.split('\n')[0] };
  }
}

/** Expected per-partition figures (rows, sum of counts) from the reference. */
export async function referenceByPartition(reference: string): Promise<Map<string, { rows: number; count: number }>> {
  return withDuckdb(':memory:', false, async (q) => {
    const rows = await q(
      `SELECT strftime(hour_start, '%Y-%m-%dT%H') AS p, count(*)::BIGINT AS rows, sum(impression_count)::BIGINT AS c FROM read_parquet(${lit(reference)}) GROUP BY 1`,
    );
    return new Map(rows.map((r) => [String(r.p), { rows: Number(r.rows), count: Number(r.c) }]));
  });
}

/** What one read of one partition saw: the complete partition, nothing yet, a mix or part of one, or an error (refused, corrupt). */
export type ReadOutcome = 'complete' | 'absent' | 'mixed' | 'error';

/** Read one partition as a concurrent user would and classify it against the reference. */
export async function readPartition(
  src: OutputSource,
  partition: string,
  expect: { rows: number; count: number },
): Promise<{ outcome: ReadOutcome; error?: string }> {
  const path = src.kind === 'duckdb' ? src.file : ':memory:';
  if (src.kind === 'parquet' && !existsSync(join(src.root, folderOf(partition)))) return { outcome: 'absent' };
  if (src.kind === 'duckdb' && !existsSync(src.file)) return { outcome: 'absent' };
  try {
    return await withDuckdb(path, src.kind === 'duckdb', async (q) => {
      const [r] = await q(
        `SELECT count(*)::BIGINT AS rows, count(DISTINCT (ad_id, user_segment))::BIGINT AS keys, coalesce(sum(impression_count), 0)::BIGINT AS c FROM (${outputSelect(src, false, partition)})`,
      );
      const rows = Number(r!.rows);
      if (rows === 0) return { outcome: 'absent' as const };
      const ok = rows === expect.rows && Number(r!.keys) === expect.rows && Number(r!.c) === expect.count;
      return { outcome: ok ? ('complete' as const) : ('mixed' as const) };
    });
  } catch (err) {
    const message = (err as Error).message.split('\n')[0]!;
    // A folder made but no file in it yet, or a table not created yet: nothing published, not a failure.
    if (/No files found|does not exist|Catalog Error/i.test(message)) return { outcome: 'absent' };
    return { outcome: 'error', error: message };
  }
}

/** A tally of reads by outcome, and a few error messages. */
export class ReadTally {
  readonly counts: Record<ReadOutcome, number> = { complete: 0, absent: 0, mixed: 0, error: 0 };
  readonly errors = new Map<string, number>();
  add(r: { outcome: ReadOutcome; error?: string }): void {
    this.counts[r.outcome]++;
    if (r.error) {
      const k = r.error.replace(/\d+/g, 'N').slice(0, 120);
      this.errors.set(k, (this.errors.get(k) ?? 0) + 1);
    }
  }
  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
  topError(): string {
    return [...this.errors.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  }
}

/** A reader that keeps reading partitions chosen by `pick` until stopped. */
export function startReader(
  src: () => OutputSource,
  pick: () => string,
  expect: Map<string, { rows: number; count: number }>,
  tally: ReadTally,
  pauseMs = 50,
): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      const p = pick();
      tally.add(await readPartition(src(), p, expect.get(p)!));
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Every descendant of a process (children, theirs, …). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    for (const c of childPids(stack.pop()!)) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

function rssOf(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** How one command ended. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: string | null;
  readonly ms: number;
  /** Peak of the summed RSS of the process and all its descendants, sampled every 50 ms. */
  readonly peakTreeRss: number;
  readonly killed: boolean;
  readonly stderrTail: string;
}

/**
 * Run a command (its own process group) to the end, or SIGKILL it and every descendant `killAfterMs` after it
 * started. The process tree's RSS is summed every 50 ms.
 */
export async function runCmd(cmd: Cmd, opts: { killAfterMs?: number; timeoutMs?: number } = {}): Promise<RunResult> {
  const t0 = performance.now();
  const child = spawn(cmd.argv[0]!, cmd.argv.slice(1), {
    cwd: cmd.cwd,
    env: { ...process.env, ...cmd.env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let peak = 0;
  let killed = false;
  const sample = setInterval(() => {
    const pid = child.pid!;
    peak = Math.max(
      peak,
      [pid, ...descendants(pid)].reduce((s, p) => s + rssOf(p), 0),
    );
  }, 50);
  const killTree = () => {
    const pid = child.pid!;
    const tree = [pid, ...descendants(pid)];
    killed = true;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // group gone
    }
    for (const p of tree) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const killer = opts.killAfterMs !== undefined ? setTimeout(killTree, opts.killAfterMs) : undefined;
  const timeout = setTimeout(killTree, opts.timeoutMs ?? 1_200_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  clearInterval(sample);
  if (killer) clearTimeout(killer);
  clearTimeout(timeout);
  // A killed daemon's workers may outlive it for a moment: make sure nothing of this tree is left.
  return { code, signal, ms: performance.now() - t0, peakTreeRss: peak, killed, stderrTail: stderr.slice(-600) };
}
