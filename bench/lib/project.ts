import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadProject } from '../../src/config/load.ts';
import { openStateStore } from '../../src/state/open.ts';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { recover } from '../../src/commit/recovery.ts';
import type { RunContext } from '../../src/run/runPartition.ts';
import { REPO_DIR } from './paths.ts';

let hooked = false;

/** Let project files `import … from 'recount'` in this process, as bin/recount.js does for the CLI. */
export function registerRecountImport(): void {
  if (hooked) return;
  register(pathToFileURL(join(REPO_DIR, 'bin/resolve-recount.js')));
  hooked = true;
}

/** A throwaway project of the ad-tech example whose datasets point at cached bench data. */
export interface BenchProject {
  readonly dir: string;
  /** Open it in this process (recovering as the CLI does); close() when done. */
  open(): Promise<RunContext & { close(): Promise<void> }>;
  cleanup(): void;
}

/** One analyzer of a bench project: an example analyzer under a name, with or without its warehouse load. */
export interface BenchAnalyzer {
  readonly name: string;
  /** File name (without .ts) of an analyzer in examples/ad-tech/analyzers. */
  readonly example: string;
  /** false drops the example's `load` target (no warehouse load after publish); kept by default. */
  readonly load?: boolean;
  /** false drops the example's `start`, so `recount serve` only looks back `serve.lookbackHours` (kept by default). */
  readonly start?: boolean;
}

/** Settings merged into the example's recount.config.ts: plain objects merge key by key, anything else replaces. */
export type ConfigOverrides = Record<string, unknown>;

/**
 * A temp project that runs the ad-tech example's analyzers and config (imported, not copied, so the bench
 * measures exactly what users get), except that dataset roots point at `datasetRoots` instead of data/ and
 * `config` overrides are merged in (e.g. `{ defaults: { memory: '512MB' } }` keeps the other defaults).
 */
export function makeBenchProject(opts: {
  datasetRoots: Record<string, string>;
  analyzers: readonly (string | BenchAnalyzer)[];
  config?: ConfigOverrides;
}): BenchProject {
  registerRecountImport();
  const dir = mkdtempSync(join(tmpdir(), 'recount-bench-'));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'recount-bench-project', private: true, type: 'module' }),
  );
  mkdirSync(join(dir, 'analyzers'));
  for (const entry of opts.analyzers) {
    // A bare name is that example analyzer exactly as shipped.
    const a: BenchAnalyzer = typeof entry === 'string' ? { name: entry, example: entry } : entry;
    const example = pathToFileURL(join(REPO_DIR, 'examples/ad-tech/analyzers', `${a.example}.ts`)).href;
    const load = `${a.load === false ? ', load: undefined' : ''}${a.start === false ? ', start: undefined' : ''}`;
    writeFileSync(
      join(dir, 'analyzers', `${a.name}.ts`),
      `import base from ${JSON.stringify(example)};\nexport default { ...base, name: ${JSON.stringify(a.name)}${load} };\n`,
    );
  }
  const example = pathToFileURL(join(REPO_DIR, 'examples/ad-tech/recount.config.ts')).href;
  const datasets = Object.fromEntries(Object.entries(opts.datasetRoots).map(([name, root]) => [name, { root }]));
  const overrides = { ...opts.config, datasets: { ...(opts.config?.datasets as object | undefined), ...datasets } };
  writeFileSync(
    join(dir, 'recount.config.ts'),
    [
      `import base from ${JSON.stringify(example)};`,
      "const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);",
      'const merge = (a: unknown, b: unknown): unknown => (plain(a) && plain(b) ? Object.fromEntries([...new Set([...Object.keys(a), ...Object.keys(b)])].map((k) => [k, k in b ? merge(a[k], b[k]) : a[k]])) : b);',
      `export default merge(base, ${JSON.stringify(overrides)});`,
      '',
    ].join('\n'),
  );
  return {
    dir,
    open: async () => {
      const project = await loadProject(dir);
      const store = await openStateStore(project.stateUrl, project.dir);
      await recover(store, new OutputLayout(project.outputRoot));
      return { project, store, engine: new DuckDBEngine(), close: () => store.close() };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
