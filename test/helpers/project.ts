import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../../src/config/load.ts';
import { openStateStore } from '../../src/state/open.ts';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import { generateEvents } from '../../src/gen/events.ts';
import type { RunContext } from '../../src/run/runPartition.ts';
import { lit } from '../../src/engine/sql.ts';

/** The repository root. */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** The CLI entry. */
export const CLI = join(REPO, 'bin', 'recount.js');

/** A throwaway folder, removed by the returned cleanup. */
export function tempDir(prefix = 'recount-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Options of a test project. */
export interface TestProjectOptions {
  /** Extra or replacement analyzer files: name -> TypeScript source. */
  analyzers?: Record<string, string>;
  /** Keep the two example analyzers (default true). */
  examples?: boolean;
  /** Replacement recount.config.ts source. */
  config?: string;
  /** Hours of events to generate from 2023-10-12T00 (default 2; 0 for none). */
  hours?: number;
  rowsPerHour?: number;
  seed?: number;
}

/** A project on disk for a test: the ad-tech example, with generated events. */
export interface TestProject {
  readonly dir: string;
  /** Run the CLI in a child process against this project. */
  cli(args: string[], env?: Record<string, string>): CliResult;
  /** Run the CLI in a child process without waiting (for kill tests). */
  spawnCli(args: string[], env?: Record<string, string>): ReturnType<typeof spawn>;
  /** Open the project in this process (state store included); close() when done. */
  open(): Promise<RunContext & { close(): Promise<void> }>;
  cleanup(): void;
}

/** What a CLI child process did. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON, when it is. */
  readonly json: any;
}

function cliEnv(env?: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  delete base.RECOUNT_FAULT;
  return { ...base, ...env };
}

/** Run the CLI in a child process. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? REPO,
    env: cliEnv(opts.env),
    encoding: 'utf8',
    timeout: 120_000,
  });
  let json: any;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, json };
}

/** Create a test project from the ad-tech example with generated events. */
export async function makeProject(opts: TestProjectOptions = {}): Promise<TestProject> {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'recount-test-project', private: true, type: 'module' }),
  );
  mkdirSync(join(dir, 'analyzers'), { recursive: true });
  if (opts.config) writeFileSync(join(dir, 'recount.config.ts'), opts.config);
  else cpSync(join(REPO, 'examples/ad-tech/recount.config.ts'), join(dir, 'recount.config.ts'));
  if (opts.examples !== false)
    cpSync(join(REPO, 'examples/ad-tech/analyzers'), join(dir, 'analyzers'), { recursive: true });
  for (const [name, src] of Object.entries(opts.analyzers ?? {}))
    writeFileSync(join(dir, 'analyzers', `${name}.ts`), src);
  const hours = opts.hours ?? 2;
  if (hours > 0) {
    await generateEvents({
      out: join(dir, 'data/events'),
      start: '2023-10-12T00',
      hours,
      rowsPerHour: opts.rowsPerHour ?? 5000,
      seed: opts.seed ?? 7,
      ads: 200,
      threads: 1,
    });
  }
  return {
    dir,
    cli: (args, env) => runCli(['--project', dir, ...args], { env }),
    spawnCli: (args, env) =>
      spawn(process.execPath, [CLI, '--project', dir, ...args], {
        env: cliEnv(env),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    open: async () => {
      const project = await loadProject(dir);
      const store = await openStateStore(project.stateUrl, project.dir);
      return { project, store, engine: new DuckDBEngine(), close: () => store.close() };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Run a query on a fresh in-memory DuckDB (to read published output the way an external reader would). */
export async function duck<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  // An engine of its own, closed before this returns: a database the query attached (a warehouse file, even read-only)
  // is let go at once, not kept with an idle instance for the next attempt while the test runs the CLI against it.
  const engine = new DuckDBEngine();
  const session = await engine.open({
    memoryBytes: 500_000_000,
    threads: 1,
    spillDir: join(tmpdir(), 'recount-test-spill'),
  });
  try {
    return await session.query<T>(sql);
  } finally {
    session.close();
    await engine.closeIdle();
  }
}

/** Every row a reader sees under a published partition path, sorted by the given keys, with its file name. */
export async function readPublished(path: string, keys: string[]): Promise<Record<string, unknown>[]> {
  return duck(
    `SELECT parse_filename(filename) AS _file, * EXCLUDE (filename) FROM read_parquet(${lit(join(path, '*.parquet'))}, filename = true, hive_partitioning = false) ORDER BY ${keys.join(', ')}`,
  );
}

/** The name of bucket i's file in a version folder (`part-00002-<tag>.parquet`: each version tags its own names). */
export function bucketFile(dir: string, i: number): string {
  const prefix = `part-${String(i).padStart(5, '0')}`;
  const name = readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.parquet'));
  if (!name) throw new Error(`no file of bucket ${i} in ${dir}`);
  return name;
}
