import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEvents, type GenEventsOptions } from '../../src/gen/events.ts';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import { DATA_DIR, REPO_DIR } from './paths.ts';

/** Parameters of a cached synthetic events dataset (everything but where it goes). */
export type EventsParams = Omit<GenEventsOptions, 'out' | 'threads'>;

/** A cached events dataset: its root (a recount dataset root) and what it holds. */
export interface CachedEvents {
  readonly root: string;
  readonly key: string;
  readonly partitions: string[];
  readonly rows: number;
  /** True when this call generated the data, false when it was already cached. */
  readonly generated: boolean;
  readonly generateMs: number;
}

const DONE = '_bench_cache.json';

async function duckdbVersion(): Promise<string> {
  const s = await new DuckDBEngine().open({
    memoryBytes: 100_000_000,
    threads: 1,
    spillDir: join(DATA_DIR, '.spill-version'),
  });
  try {
    return s.version;
  } finally {
    s.close();
    rmSync(join(DATA_DIR, '.spill-version'), { recursive: true, force: true });
  }
}

/**
 * Synthetic events under bench/.data/, generated once per parameter set and reused by later runs. The key
 * covers the parameters, the generator's source and the DuckDB version (its hash() drives the values), so a
 * change to any of them regenerates instead of silently benchmarking other data. Generation goes to a
 * private folder renamed into place, so a killed or concurrent run never leaves a half-written cache behind.
 */
export async function cachedEvents(
  params: EventsParams,
  log: (line: string) => void = console.log,
): Promise<CachedEvents> {
  const generator = readFileSync(join(REPO_DIR, 'src/gen/events.ts'));
  const identity = JSON.stringify({
    ...params,
    ads: params.ads ?? 1000,
    skew: params.skew ?? false,
    duckdb: await duckdbVersion(),
    generator: createHash('sha256').update(generator).digest('hex'),
  });
  const key = createHash('sha256').update(identity).digest('hex').slice(0, 16);
  const root = join(DATA_DIR, `events-${params.rowsPerHour}x${params.hours}-${key}`);
  const done = join(root, DONE);
  if (existsSync(done)) {
    const meta = JSON.parse(readFileSync(done, 'utf8')) as { partitions: string[]; rows: number };
    return { root, key, partitions: meta.partitions, rows: meta.rows, generated: false, generateMs: 0 };
  }
  mkdirSync(DATA_DIR, { recursive: true });
  const tmp = join(DATA_DIR, `.tmp-${key}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  log(`generating ${params.rowsPerHour * params.hours} events into ${root} (cached for later runs) …`);
  const t0 = performance.now();
  const out = await generateEvents({ ...params, out: tmp, threads: 2 });
  const generateMs = performance.now() - t0;
  writeFileSync(
    join(tmp, DONE),
    `${JSON.stringify({ ...JSON.parse(identity), partitions: out.partitions, rows: out.rows }, null, 2)}\n`,
  );
  try {
    renameSync(tmp, root);
  } catch (err) {
    // Another run finished the same data first: keep theirs.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(done)) throw err;
  }
  log(`generated in ${(generateMs / 1000).toFixed(1)} s`);
  return { root, key, partitions: out.partitions, rows: out.rows, generated: true, generateMs };
}
