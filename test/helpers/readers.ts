import { copyFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawn } from 'node:child_process';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import type { EngineSession } from '../../src/engine/engine.ts';
import { fileList, lit } from '../../src/engine/sql.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { publishedFiles } from '../../src/commit/publishedFiles.ts';
import { CLI } from './project.ts';

/**
 * Readers of published output that run while partitions are republished (I1), shared by the reader tests, the
 * crash suite and `npm run bench -- readers`. No vitest here: each reader tallies what it saw, the caller asserts.
 *
 * An answer is `count(*)|sum(a)|sum(b)` over a partition; `complete` is the set of answers of every complete
 * version that may be published (computed from the inputs); anything else is a mixed (or partial) answer.
 */

/** What one reader saw. */
export interface ReaderTally {
  readonly name: string;
  answers: number;
  /** Answers equal to one complete version's. */
  complete: number;
  /** Reads that failed loudly (a file listed through the link and gone by the time it was opened). */
  loudErrors: number;
  /** Answers equal to no complete version: a mix of two versions, or a partial one. Must stay 0. */
  mixed: number;
  /** Errors that are not the loud "file not found" a straddled glob gives (must stay 0, too). */
  otherErrors: number;
  readonly samples: string[];
}

/** A fresh tally. */
export function newTally(name: string): ReaderTally {
  return { name, answers: 0, complete: 0, loudErrors: 0, mixed: 0, otherErrors: 0, samples: [] };
}

/** Sum of several readers' tallies. */
export function sumTallies(name: string, tallies: readonly ReaderTally[]): ReaderTally {
  const t = newTally(name);
  for (const x of tallies) {
    t.answers += x.answers;
    t.complete += x.complete;
    t.loudErrors += x.loudErrors;
    t.mixed += x.mixed;
    t.otherErrors += x.otherErrors;
    t.samples.push(...x.samples.slice(0, 3));
  }
  return t;
}

/**
 * The answer SQL over a relation: a version's fingerprint as a reader computes it, and (when the relation has a
 * `filename` column) how many versions' file tags it read (`part-00003-<tag>.parquet`): a complete read has one.
 */
export function answerSql(relation: string, a: string, b: string, withTags = false): string {
  const tags = withTags
    ? `count(DISTINCT regexp_extract(parse_filename(filename), '^part-\\d+-([a-z0-9]+)\\.parquet$', 1))`
    : '1';
  return `SELECT count(*)::VARCHAR || '|' || coalesce(sum(${a}), 0)::VARCHAR || '|' || coalesce(sum(${b}), 0)::VARCHAR AS answer, ${tags} AS tags FROM ${relation}`;
}

/** A DuckDB session for a reader: one thread, so files are opened one after another as the scan reaches them. */
export function openReader(): Promise<EngineSession> {
  return new DuckDBEngine().open({
    memoryBytes: 300_000_000,
    threads: 1,
    spillDir: join(tmpdir(), 'recount-reader-spill'),
  });
}

// DuckDB's words for a file that is not there (any other error is counted apart, as unexpected).
const NOT_FOUND = /No such file|not found|does not exist|No files found|Cannot open file/i;

function tallyError(t: ReaderTally, err: unknown): void {
  const msg = String((err as Error)?.message ?? err).split('\n')[0]!;
  if (NOT_FOUND.test(msg)) t.loudErrors++;
  else {
    t.otherErrors++;
    if (t.samples.length < 10) t.samples.push(`error: ${msg}`);
  }
}

function tallyAnswer(
  t: ReaderTally,
  row: { answer: string; tags: number | string } | undefined,
  complete: ReadonlySet<string>,
): void {
  t.answers++;
  if (row !== undefined && complete.has(row.answer) && Number(row.tags) <= 1) t.complete++;
  else {
    t.mixed++;
    if (t.samples.length < 10) t.samples.push(`mixed: ${row?.answer} from files of ${row?.tags} versions`);
  }
}

/** Options of a reader loop. */
export interface ReaderLoop {
  readonly complete: ReadonlySet<string>;
  /** Columns summed in the answer. */
  readonly a: string;
  readonly b: string;
  readonly stop: () => boolean;
  /** Pause between reads (ms); 0 by default. */
  readonly pauseMs?: number;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A reader that follows the README's glob (`<output>/<analyzer>/*\/*\/*.parquet`): one complete version or a loud error. */
export async function globReader(name: string, glob: string, loop: ReaderLoop): Promise<ReaderTally> {
  const t = newTally(name);
  const session = await openReader();
  try {
    while (!loop.stop()) {
      try {
        const [r] = await session.query<{ answer: string; tags: number }>(
          answerSql(`read_parquet(${lit(glob)}, hive_partitioning = false, filename = true)`, loop.a, loop.b, true),
        );
        tallyAnswer(t, r, loop.complete);
      } catch (err) {
        tallyError(t, err);
      }
      if (loop.pauseMs) await pause(loop.pauseMs);
    }
  } finally {
    session.close();
  }
  return t;
}

/** A reader that resolves the partition once (`publishedFiles`, what `recount files` prints) and reads exactly those files. */
export async function filesReader(
  name: string,
  outputRoot: string,
  analyzer: string,
  partition: string,
  loop: ReaderLoop,
): Promise<ReaderTally> {
  const t = newTally(name);
  const layout = new OutputLayout(outputRoot);
  const session = await openReader();
  try {
    while (!loop.stop()) {
      try {
        const files = publishedFiles(layout, analyzer, partition).files.map((f) => f.path);
        const [r] = await session.query<{ answer: string; tags: number }>(
          answerSql(
            `read_parquet(${fileList(files)}, hive_partitioning = false, filename = true)`,
            loop.a,
            loop.b,
            true,
          ),
        );
        tallyAnswer(t, r, loop.complete);
      } catch (err) {
        tallyError(t, err);
      }
      if (loop.pauseMs) await pause(loop.pauseMs);
    }
  } finally {
    session.close();
  }
  return t;
}

/** `recount files --json` in a child process (not blocking this one), then a read of exactly the files it printed. */
export async function filesCliRead(
  projectDir: string,
  analyzer: string,
  partition: string,
  session: EngineSession,
  a: string,
  b: string,
): Promise<string> {
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [CLI, '--project', projectDir, '--json', 'files', analyzer, '--partition', partition],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`recount files exited ${code}: ${out}${err}`)),
    );
  });
  const files = (JSON.parse(stdout) as { files: { path: string }[] }).files.map((f) => f.path);
  const [r] = await session.query<{ answer: string }>(
    answerSql(`read_parquet(${fileList(files)}, hive_partitioning = false)`, a, b),
  );
  return r!.answer;
}

/** Replace a source partition's one data file the way a writer that rewrites a partition would (copy aside, rename over), then `_SUCCESS`. */
export function replaceInputFile(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  const tmp = `${to}.${process.pid}.tmp`;
  copyFileSync(from, tmp);
  renameSync(tmp, to);
  writeFileSync(join(dirname(to), '_SUCCESS'), '');
}

/** A reader running in a child process; `stop()` ends its loop and resolves to its tally. */
export interface ReaderProcess {
  readonly ready: Promise<void>;
  stop(): Promise<ReaderTally>;
}

/** Start a reader (see readerProcess.ts) in its own process: it reads on its own threads while this process publishes. */
export function startReaderProcess(args: {
  mode: 'glob' | 'files';
  name: string;
  glob?: string;
  outputRoot?: string;
  analyzer?: string;
  partition?: string;
  complete: Iterable<string>;
  a: string;
  b: string;
  pauseMs?: number;
}): ReaderProcess {
  const script = join(dirname(new URL(import.meta.url).pathname), 'readerProcess.ts');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', script, JSON.stringify({ ...args, complete: [...args.complete] })],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  let started: () => void = () => undefined;
  const ready = new Promise<void>((r) => (started = r));
  child.stdout.on('data', (d) => {
    out += d;
    if (out.includes('ready\n')) started();
  });
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<ReaderTally>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ReaderTally);
      } catch {
        reject(new Error(`reader ${args.name} exited ${code} without a tally: ${out}${err}`));
      }
    });
  });
  exited.catch(() => undefined);
  exited.finally(started).catch(() => undefined);
  return {
    ready,
    stop: () => {
      child.stdin.end();
      return exited;
    },
  };
}
