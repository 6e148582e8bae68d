import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * A temp project that runs the ad-tech example's analyzers (copied, so the bench measures exactly what
 * users get) with its config's settings, except that dataset roots point at `datasetRoots` instead of data/.
 */
export function makeBenchProject(opts: { datasetRoots: Record<string, string>; analyzers: string[] }): BenchProject {
  registerRecountImport();
  const dir = mkdtempSync(join(tmpdir(), 'recount-bench-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'recount-bench-project', private: true, type: 'module' }));
  mkdirSync(join(dir, 'analyzers'));
  for (const a of opts.analyzers) cpSync(join(REPO_DIR, 'examples/ad-tech/analyzers', `${a}.ts`), join(dir, 'analyzers', `${a}.ts`));
  const example = pathToFileURL(join(REPO_DIR, 'examples/ad-tech/recount.config.ts')).href;
  const overrides = Object.entries(opts.datasetRoots)
    .map(([name, root]) => `${JSON.stringify(name)}: { ...base.datasets[${JSON.stringify(name)}], root: ${JSON.stringify(root)} }`)
    .join(', ');
  writeFileSync(
    join(dir, 'recount.config.ts'),
    `import base from ${JSON.stringify(example)};\nexport default { ...base, datasets: { ...base.datasets, ${overrides} } };\n`,
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
