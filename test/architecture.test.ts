import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The dependency rules of src/ (file-level import cycles are Biome's noImportCycles, run by `npm test` too).
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'gen' ? [] : sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative import of every file under src/, as repository paths: [importer, imported]. */
function importEdges(): [string, string][] {
  const edges: [string, string][] = [];
  for (const file of sources('src')) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      edges.push([file, normalize(join(dirname(file), match[1]!))]);
    }
  }
  return edges;
}

const edges = importEdges();
const under = (folder: string) => (path: string) => path.startsWith(`${folder}/`);

describe('dependencies point one way', () => {
  it('finds the imports it checks', () => {
    expect(edges.length).toBeGreaterThan(500);
    expect(edges).toContainEqual(['src/run/attempt/publish.ts', 'src/commit/publish.ts']);
  });

  it('nothing under src/ but the CLI imports the CLI', () => {
    const offenders = edges.filter(([from, to]) => !under('src/cli')(from) && under('src/cli')(to));
    expect(offenders).toEqual([]);
  });

  it('the seams import nothing from their implementations', () => {
    const seams: Record<string, string[]> = {
      'src/engine/engine.ts': ['src/engine/duckdb', 'src/engine/spark'],
      'src/state/store.ts': ['src/state/sqlite', 'src/state/postgres'],
      'src/warehouse/warehouse.ts': ['src/warehouse/duckdb', 'src/warehouse/postgres'],
    };
    const offenders = edges.filter(([from, to]) => seams[from]?.some((impl) => under(impl)(to)));
    expect(offenders).toEqual([]);
  });

  it('the state store is the bottom layer: it imports only itself, the filesystem and process helpers and shared types', () => {
    const allowed = [
      'src/state/',
      'src/fs/',
      'src/process/',
      'src/errors.ts',
      'src/config/secrets.ts',
      'src/checks/check.ts',
    ];
    const offenders = edges.filter(
      ([from, to]) => under('src/state')(from) && !allowed.some((prefix) => to.startsWith(prefix)),
    );
    expect(offenders.map(([from, to]) => `${from} -> ${relative('src', to)}`)).toEqual([]);
  });
});
