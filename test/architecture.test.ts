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

/** The folder of a file under src/ ('engine', 'run', …), or the file's own name for one at the top (errors.ts, log.ts). */
function folderOf(path: string): string {
  const parts = relative('src', path).split('/');
  return parts[0]!;
}

/** The folders under src/ that import each other in a circle (Tarjan's strongly connected components of size > 1). */
function folderCycles(): string[][] {
  const graph = new Map<string, Set<string>>();
  for (const [from, to] of edges) {
    const [a, b] = [folderOf(from), folderOf(to)];
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    graph.get(a)!.add(b);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

describe('folders point one way', () => {
  it('the tools, the daemon, the workers, observability, the warehouse and the UI each sit above what they use', () => {
    // One knot is left, and may not grow: the core folders that define a version (the manifest in commit/, the
    // layout, the engine seam, the checks, the state store, the config and the catalog) still import each other.
    // Everything else — run, worker, scheduler, observe, warehouse, diff, shadow, audit, doctor, gc, web, cli —
    // is in no cycle.
    expect(folderCycles()).toEqual([['catalog', 'checks', 'commit', 'config', 'engine', 'layout', 'state']]);
  });
});
