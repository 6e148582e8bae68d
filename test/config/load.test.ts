import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeProject, tempDir } from '../helpers/project.ts';
import { loadProject } from '../../src/config/load.ts';
import { RecountError } from '../../src/errors.ts';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const CONFIG = `import { defineConfig } from 'recount';
export default defineConfig({ datasets: { events: { root: 'data/events', grain: 'hour' } } });`;
const ANALYZER = (name: string) => `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: '${name}', inputs: ['events'], grain: 'hour', sql: 'SELECT ad_id, count(*) AS n FROM events GROUP BY ad_id' });`;

/** A project folder from a map of relative path -> file text. */
function project(files: Record<string, string>): string {
  const dir = tempDir('recount-load-');
  made.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function loadError(dir: string): Promise<RecountError> {
  const e = await loadProject(dir, {}).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(RecountError);
  return e as RecountError;
}

describe('loadProject reads TypeScript with no build step', () => {
  it('loads recount.config.ts and analyzers/*.ts, skipping _helpers, dotfiles and .d.ts', async () => {
    const dir = project({
      'recount.config.ts': CONFIG,
      'analyzers/b_second.ts': ANALYZER('b_second'),
      'analyzers/a_first.ts': ANALYZER('a_first'),
      'analyzers/_shared.ts': 'export const x = 1;',
      'analyzers/.draft.ts': 'this is not TypeScript',
      'analyzers/types.d.ts': 'export type T = number;',
      'analyzers/README.md': '# notes',
    });
    const p = await loadProject(dir, {});
    expect([...p.analyzers.keys()]).toEqual(['a_first', 'b_second']);
    expect(p.analyzers.get('a_first')!.file).toBe('analyzers/a_first.ts');
    expect(p.configFile).toBe('recount.config.ts');
  });

  it('honours a custom analyzers folder', async () => {
    const dir = project({
      'recount.config.ts': `export default { datasets: { events: { root: 'data/events', grain: 'hour' } }, analyzers: 'jobs' };`,
      'jobs/j.ts': ANALYZER('j'),
    });
    const p = await loadProject(dir, {});
    expect(p.analyzers.get('j')!.file).toBe('jobs/j.ts');
  });

  it('applies the environment it is given', async () => {
    const dir = project({ 'recount.config.ts': CONFIG });
    const p = await loadProject(dir, { RECOUNT_OUTPUT: '/elsewhere' });
    expect(p.outputRoot).toBe('/elsewhere');
  });
});

describe('loading errors name the file and say what to do', () => {
  it('no recount.config.ts is CONFIG_NOT_FOUND (exit 2) pointing at recount init', async () => {
    const dir = project({});
    const e = await loadError(dir);
    expect(e.code).toBe('CONFIG_NOT_FOUND');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(dir);
    expect(e.hint).toContain('recount init');
  });

  it('a TypeScript syntax error in an analyzer names the file and the position', async () => {
    const dir = project({
      'recount.config.ts': CONFIG,
      'analyzers/broken.ts': "export default { name: 'broken', sql: 'SELECT 1'",
    });
    const e = await loadError(dir);
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.subject).toBe('analyzers/broken.ts');
    expect(e.message).toContain('analyzers/broken.ts: cannot be loaded');
    expect(e.hint).toBeTruthy();
  });

  it('a module that throws while loading names the file', async () => {
    const dir = project({ 'recount.config.ts': "throw new Error('no config today');" });
    const e = await loadError(dir);
    expect(e.subject).toBe('recount.config.ts');
    expect(e.message).toContain('no config today');
  });

  it('an analyzer without a default export says how to write one', async () => {
    const dir = project({
      'recount.config.ts': CONFIG,
      'analyzers/named.ts': "export const analyzer = { name: 'named' };",
    });
    const e = await loadError(dir);
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toBe('analyzers/named.ts: has no default export');
    expect(e.hint).toContain('export default defineAnalyzer');
  });

  it('an invalid field in a loaded analyzer names its file and field', async () => {
    const dir = project({
      'recount.config.ts': CONFIG,
      'analyzers/bad.ts': `export default { name: 'bad', inputs: ['events'], grain: 'hour', sql: 'SELECT 1', files: -1 };`,
    });
    const e = await loadError(dir);
    expect(e.subject).toBe('analyzers/bad.ts: files');
  });
});

describe('what a run is made of', () => {
  it('definitionHash follows memory, threads, files, keys and checks; sqlHash only the SQL', async () => {
    const def = (name: string, extra: string) => `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: '${name}', inputs: ['events'], grain: 'hour', sql: 'SELECT ad_id, count(*) AS n FROM events GROUP BY ad_id', ${extra} });`;
    const tp = await makeProject({
      examples: false,
      hours: 0,
      analyzers: {
        a: def('a', "memory: '1GB'"),
        b: def('b', "memory: '2GB'"),
        c: def('c', "memory: '1GB', files: 3"),
        d: def('d', "memory: '1GB', threads: 1"),
        e: def('e', "memory: '1GB'"),
      },
    });
    try {
      const project = await loadProject(tp.dir);
      const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((n) => project.analyzers.get(n)!);
      expect(new Set([a, b, c, d, e].map((x) => x!.sqlHash)).size).toBe(1);
      expect(new Set([a, b, c, d].map((x) => x!.definitionHash)).size).toBe(4);
      expect(e!.definitionHash).toBe(a!.definitionHash);
    } finally {
      tp.cleanup();
    }
  });
});
