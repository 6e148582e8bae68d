import { rmSync } from 'node:fs';
import { tempDir } from '../helpers/project.ts';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import { DUCKDB_LAYOUT_SCHEME } from '../../src/engine/duckdb/duckdbDialect.ts';
import { engineContract } from './contract.ts';

const dirs: string[] = [];

// Two threads, and one: on one thread a layout's files are written in one statement (src/engine/duckdb/duckdbLayout.ts).
for (const threads of [2, 1]) {
  engineContract({
    name: 'duckdb',
    variant: `${threads} thread${threads > 1 ? 's' : ''}`,
    layoutScheme: DUCKDB_LAYOUT_SCHEME,
    open: (spillDir) => new DuckDBEngine().open({ memoryBytes: 300_000_000, threads, spillDir }),
    dir() {
      const dir = tempDir('recount-engine-contract-');
      dirs.push(dir);
      return dir;
    },
    async cleanup() {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  });
}
