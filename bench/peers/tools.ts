// The tools compared by the peers bench (issue 16): how each one is set up, backfills a range of hourly
// partitions, reruns one partition, and where its output is read from. Every tool gets the same events, the same
// SQL and DuckDB threads 2; each runs one partition at a time.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from '../lib/paths.ts';
import { makeBenchProject } from '../lib/project.ts';

/** bench/peers/ */
export const PEERS_DIR = join(REPO_DIR, 'bench/peers');
/** The virtualenvs made by bench/peers/setup.sh, one per tool. */
export const VENV_DIR = join(REPO_DIR, 'bench/.peers-venv');

/** One command line to run as a child process. */
export interface Cmd {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Record<string, string>;
}

/** Where one run of one tool keeps its state and output, and what it works on. */
export interface Workspace {
  readonly dir: string;
  /** A dataset root holding exactly the partitions of [first, last]. */
  readonly events: string;
  /** Hour ids like 2023-10-12T00, inclusive. */
  readonly first: string;
  readonly last: string;
  /** The seed-003 variant: a computed DOUBLE (round(bid_price, 1) AS bid_bucket) among the GROUP BY keys. */
  readonly floatKeys: boolean;
}

/** How a reader gets a tool's output, normalised to (hour_start, ad_id, user_segment[, bid_bucket], impression_count, total_bid). */
export type OutputSource =
  | { readonly kind: 'parquet'; readonly root: string }
  | { readonly kind: 'duckdb'; readonly file: string; readonly table: string };

/** One tool of the comparison. */
export interface Tool {
  readonly name: string;
  /** Python virtualenv it runs in (undefined for recount). */
  readonly venv?: string;
  /** 'Parquet per partition' or 'DuckDB table'. */
  readonly native: string;
  /** Untimed one-off setup in a fresh workspace (SQLMesh's plan that creates the model), or nothing. */
  setup(ws: Workspace): Cmd | undefined;
  /** Backfill [first, last]; run again after a kill, it is also the tool's retry. */
  backfill(ws: Workspace): Cmd;
  /** Rerun one partition that is already there. */
  rerun(ws: Workspace, partition: string): Cmd;
  output(ws: Workspace): OutputSource;
  /** The retry command as a user would type it, for the README. */
  readonly retryText: string;
}

const ANALYZER = 'ad_impressions_hourly';
const py = (venv: string) => join(VENV_DIR, venv, 'bin/python');
const bin = (venv: string, name: string) => join(VENV_DIR, venv, 'bin', name);
const floatEnv = (ws: Workspace): Record<string, string> => (ws.floatKeys ? { PEERS_FLOAT_KEYS: '1' } : {});

/** 2023-10-12T05 -> Date */
export function hourDate(id: string): Date {
  return new Date(`${id}:00:00Z`);
}
/** Date -> 2023-10-12T05 */
export function hourId(d: Date): string {
  return d.toISOString().slice(0, 13);
}
const nextHour = (id: string) => hourId(new Date(hourDate(id).getTime() + 3_600_000));
/** 2023-10-12T05 -> '2023-10-12 05:00:00' */
const sqlTs = (id: string) => `${id.replace('T', ' ')}:00:00`;
/** 2023-10-12T05 -> Dagster's hourly key 2023-10-12-05:00 */
const dagsterKey = (id: string) => `${id.replace('T', '-')}:00`;

const raw: Tool = {
  name: 'raw duckdb',
  venv: 'raw',
  native: 'Parquet per partition (1 file)',
  setup: () => undefined,
  backfill: (ws) => ({
    argv: [py('raw'), join(PEERS_DIR, 'raw/backfill.py'), ws.events, join(ws.dir, 'out'), ws.first, ws.last],
    cwd: ws.dir,
    env: floatEnv(ws),
  }),
  rerun: (ws, p) => ({
    argv: [py('raw'), join(PEERS_DIR, 'raw/backfill.py'), ws.events, join(ws.dir, 'out'), p, p],
    cwd: ws.dir,
    env: floatEnv(ws),
  }),
  output: (ws) => ({ kind: 'parquet', root: join(ws.dir, 'out') }),
  retryText: 'python bench/peers/raw/backfill.py EVENTS OUT FROM TO (again)',
};

/** A recount project in ws.dir/project: the example hourly analyzer without its warehouse load (Parquet out, as the peers). */
function recountProject(ws: Workspace): string {
  const dir = join(ws.dir, 'project');
  mkdirSync(dir, { recursive: true });
  const p = makeBenchProject({
    datasetRoots: { events: ws.events },
    analyzers: [{ name: ANALYZER, example: ANALYZER, load: false }],
    config: { serve: { scanIntervalMs: 1000 } },
  });
  // makeBenchProject writes a temp folder; keep it inside the workspace so one rm cleans up everything.
  for (const f of ['package.json', 'recount.config.ts']) writeFileSync(join(dir, f), readFileSync(join(p.dir, f)));
  mkdirSync(join(dir, 'analyzers'), { recursive: true });
  let analyzer = readFileSync(join(p.dir, 'analyzers', `${ANALYZER}.ts`), 'utf8');
  if (ws.floatKeys) {
    // The same analyzer with round(bid_price, 1) among the keys: recount's answer is to refuse it (I3).
    analyzer = analyzer.replace(
      'export default { ...base,',
      `export default { ...base, sql: ${JSON.stringify(FLOAT_SQL)},`,
    );
  }
  writeFileSync(join(dir, 'analyzers', `${ANALYZER}.ts`), analyzer);
  p.cleanup();
  return dir;
}

const FLOAT_SQL = `SELECT ad_id, user_segment, round(bid_price, 1) AS bid_bucket,
       count(*) AS impression_count, sum(bid_price) AS total_bid
FROM events WHERE event_type = 'impression'
GROUP BY ad_id, user_segment, bid_bucket`;

const recountCli = (ws: Workspace, args: string[]): Cmd => ({
  argv: [process.execPath, join(REPO_DIR, 'bin/recount.js'), '--project', join(ws.dir, 'project'), ...args],
  cwd: ws.dir,
  env: { NO_COLOR: '1', FORCE_COLOR: '0', RECOUNT_LOG_FORMAT: 'json', RECOUNT_LOG_LEVEL: 'warn' },
});

const recountOutput = (ws: Workspace): OutputSource => ({
  kind: 'parquet',
  root: join(ws.dir, 'project/data/out', ANALYZER),
});

const recountBackfill: Tool = {
  name: 'recount backfill',
  native: 'Parquet per partition (4 key-hashed files, atomic publish)',
  setup: (ws) => {
    recountProject(ws);
    return undefined;
  },
  backfill: (ws) => recountCli(ws, ['backfill', ANALYZER, '--from', ws.first, '--to', ws.last]),
  rerun: (ws, p) => recountCli(ws, ['run', ANALYZER, '--partition', p]),
  output: recountOutput,
  retryText: 'recount backfill ad_impressions_hourly --from FROM --to TO (again: recovers, skips what is published)',
};

const recountServe: Tool = {
  ...recountBackfill,
  name: 'recount serve',
  // One worker: every tool runs one partition at a time (serve's default is up to 2 workers).
  backfill: (ws) => recountCli(ws, ['serve', '--until-idle', '--no-dashboard', '--max-workers', '1']),
  retryText: 'recount serve --until-idle (again)',
};

const sqlmeshEnv = (ws: Workspace): Record<string, string> => ({
  PEERS_DB: join(ws.dir, 'warehouse_sqlmesh.duckdb'),
  PEERS_EVENTS: ws.events,
  ...floatEnv(ws),
});
const sqlmesh: Tool = {
  name: 'sqlmesh',
  venv: 'sqlmesh',
  native: 'DuckDB table (INCREMENTAL_BY_TIME_RANGE, batch_size 1)',
  // The project's first `plan` creates the model's table and view; the backfill is `sqlmesh run`.
  setup: (ws) => ({
    argv: [
      bin('sqlmesh', 'sqlmesh'),
      '-p',
      join(PEERS_DIR, 'sqlmesh'),
      'plan',
      '--auto-apply',
      '--no-prompts',
      '--skip-backfill',
    ],
    cwd: ws.dir,
    env: sqlmeshEnv(ws),
  }),
  backfill: (ws) => ({
    argv: [bin('sqlmesh', 'sqlmesh'), '-p', join(PEERS_DIR, 'sqlmesh'), 'run', '--end', sqlTs(nextHour(ws.last))],
    cwd: ws.dir,
    env: sqlmeshEnv(ws),
  }),
  rerun: (ws, p) => ({
    argv: [
      bin('sqlmesh', 'sqlmesh'),
      '-p',
      join(PEERS_DIR, 'sqlmesh'),
      'plan',
      '--restate-model',
      'peers.ad_impressions_hourly',
      '--start',
      sqlTs(p),
      '--end',
      sqlTs(nextHour(p)),
      '--auto-apply',
      '--no-prompts',
    ],
    cwd: ws.dir,
    env: sqlmeshEnv(ws),
  }),
  output: (ws) => ({
    kind: 'duckdb',
    file: join(ws.dir, 'warehouse_sqlmesh.duckdb'),
    table: 'peers.ad_impressions_hourly',
  }),
  retryText: "sqlmesh run --end 'END' (again: runs the intervals not recorded as done)",
};

const dbtEnv = (ws: Workspace): Record<string, string> => ({
  PEERS_DB: join(ws.dir, 'warehouse_dbt.duckdb'),
  PEERS_EVENTS: ws.events,
  DBT_TARGET_PATH: join(ws.dir, 'dbt-target'),
  DBT_LOG_PATH: join(ws.dir, 'dbt-logs'),
  DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
  ...floatEnv(ws),
});
const dbtRun = (ws: Workspace, from: string, toExclusive: string): Cmd => ({
  argv: [
    bin('dbt', 'dbt'),
    'run',
    '--project-dir',
    join(PEERS_DIR, 'dbt'),
    '--profiles-dir',
    join(PEERS_DIR, 'dbt'),
    '--event-time-start',
    sqlTs(from),
    '--event-time-end',
    sqlTs(toExclusive),
  ],
  cwd: ws.dir,
  env: dbtEnv(ws),
});
const dbt: Tool = {
  name: 'dbt',
  venv: 'dbt',
  native: 'DuckDB table (microbatch, batch_size hour)',
  setup: () => undefined,
  backfill: (ws) => dbtRun(ws, ws.first, nextHour(ws.last)),
  rerun: (ws, p) => dbtRun(ws, p, nextHour(p)),
  output: (ws) => ({ kind: 'duckdb', file: join(ws.dir, 'warehouse_dbt.duckdb'), table: 'main.ad_impressions_hourly' }),
  // `dbt retry` needs run_results.json, which a killed dbt never writes: the retry is the same run again.
  retryText:
    "dbt run --event-time-start 'START' --event-time-end 'END' (again; `dbt retry` has no run_results.json after a kill)",
};

const dagsterEnv = (ws: Workspace): Record<string, string> => ({
  DAGSTER_HOME: join(ws.dir, 'dagster-home'),
  PEERS_EVENTS: ws.events,
  PEERS_OUT: join(ws.dir, 'out'),
  ...floatEnv(ws),
});
const dagster: Tool = {
  name: 'dagster',
  venv: 'dagster',
  native: 'Parquet per partition (1 file, DuckDBResource)',
  setup: (ws) => {
    mkdirSync(join(ws.dir, 'dagster-home'), { recursive: true });
    return undefined;
  },
  backfill: (ws) => ({
    argv: [py('dagster'), join(PEERS_DIR, 'dagster/backfill.py'), dagsterKey(ws.first), dagsterKey(ws.last)],
    cwd: join(PEERS_DIR, 'dagster'),
    env: dagsterEnv(ws),
  }),
  rerun: (ws, p) => ({
    argv: [py('dagster'), join(PEERS_DIR, 'dagster/backfill.py'), dagsterKey(p), dagsterKey(p)],
    cwd: join(PEERS_DIR, 'dagster'),
    env: dagsterEnv(ws),
  }),
  output: (ws) => ({ kind: 'parquet', root: join(ws.dir, 'out') }),
  retryText: 'python bench/peers/dagster/backfill.py FROM TO (again)',
};

/** Every tool, raw DuckDB first (the floor). */
export const TOOLS: readonly Tool[] = [raw, recountBackfill, recountServe, sqlmesh, dbt, dagster];

/** The version string of a tool as installed (package versions from its venv; recount's from package.json). */
export function toolVersion(tool: Tool): string {
  if (!tool.venv) {
    const pkg = JSON.parse(readFileSync(join(REPO_DIR, 'package.json'), 'utf8')) as { version: string };
    const nodeApi = JSON.parse(readFileSync(join(REPO_DIR, 'node_modules/@duckdb/node-api/package.json'), 'utf8')) as {
      version: string;
    };
    return `recount ${pkg.version}, @duckdb/node-api ${nodeApi.version}`;
  }
  const pkgs: Record<string, string[]> = {
    raw: ['duckdb'],
    sqlmesh: ['sqlmesh', 'duckdb'],
    dbt: ['dbt-core', 'dbt-duckdb', 'duckdb'],
    dagster: ['dagster', 'dagster-duckdb', 'duckdb'],
  };
  const names = pkgs[tool.venv]!;
  const r = spawnSync(
    py(tool.venv),
    [
      '-c',
      `import importlib.metadata as m; print(', '.join(n + ' ' + m.version(n) for n in ${JSON.stringify(names)}))`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0)
    throw new Error(
      `${tool.name}: cannot read versions from ${py(tool.venv)} — run bench/peers/setup.sh first\n${r.stderr}`,
    );
  return r.stdout.trim();
}
