// A project's config and analyzers load with or without `"type": "module"`, with no package.json at all, and as
// .mts (issue 14): the CLI compiles them once into ES modules under .recount/cache/, keyed by the content of each
// file and the files it imports, so an edit to any of them is seen at the next command.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/project.ts';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const CONFIG = `import { defineConfig } from 'recount';
export default defineConfig({ datasets: { events: { root: 'data/events', grain: 'hour' } } });
`;
const HELPER = (name: string) => `export const NAME: string = '${name}';\n`;
const ANALYZER = `import { defineAnalyzer } from 'recount';
import { NAME } from './_name.ts';
export default defineAnalyzer({ name: NAME, inputs: ['events'], grain: 'hour', sql: 'SELECT ad_id, count(*) AS n FROM events GROUP BY ad_id' });
`;

function project(files: Record<string, string>): string {
  const dir = tempDir('recount-modules-');
  made.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** The analyzers `recount status --json` lists for a project (the command must succeed). */
function analyzers(dir: string): string[] {
  const r = runCli(['--project', dir, 'status', '--json']);
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return (r.json.analyzers as { analyzer: string }[]).map((a) => a.analyzer);
}

describe('a project loads whatever its package.json says', () => {
  it('without "type": "module" in its package.json', () => {
    const dir = project({
      'package.json': JSON.stringify({ name: 'plain', private: true }),
      'recount.config.ts': CONFIG,
      'analyzers/a.ts': ANALYZER,
      'analyzers/_name.ts': HELPER('hourly_a'),
    });
    expect(analyzers(dir)).toEqual(['hourly_a']);
  });

  it('with "type": "commonjs" in its package.json', () => {
    const dir = project({
      'package.json': JSON.stringify({ type: 'commonjs' }),
      'recount.config.ts': CONFIG,
      'analyzers/a.ts': ANALYZER,
      'analyzers/_name.ts': HELPER('hourly_cjs'),
    });
    expect(analyzers(dir)).toEqual(['hourly_cjs']);
  });

  it('with no package.json at all', () => {
    const dir = project({
      'recount.config.ts': CONFIG,
      'analyzers/a.ts': ANALYZER,
      'analyzers/_name.ts': HELPER('hourly_bare'),
    });
    expect(analyzers(dir)).toEqual(['hourly_bare']);
  });

  it('with a recount.config.mts and .mts analyzers', () => {
    const dir = project({
      'recount.config.mts': CONFIG,
      'analyzers/a.mts': ANALYZER.replace("'./_name.ts'", "'./_name.mts'"),
      'analyzers/_name.mts': HELPER('hourly_mts'),
    });
    expect(analyzers(dir)).toEqual(['hourly_mts']);
  });

  it('compiles once into .recount/cache/ and again when an imported file changes', () => {
    const dir = project({
      'recount.config.ts': CONFIG,
      'analyzers/a.ts': ANALYZER,
      'analyzers/_name.ts': HELPER('first_name'),
    });
    expect(analyzers(dir)).toEqual(['first_name']);
    const cached = readdirSync(join(dir, '.recount', 'cache')).filter((f) => f.endsWith('.mjs'));
    expect(cached.length).toBe(2);
    expect(analyzers(dir)).toEqual(['first_name']);
    expect(
      readdirSync(join(dir, '.recount', 'cache'))
        .filter((f) => f.endsWith('.mjs'))
        .sort(),
    ).toEqual(cached.sort());
    writeFileSync(join(dir, 'analyzers', '_name.ts'), HELPER('second_name'));
    expect(analyzers(dir)).toEqual(['second_name']);
  });

  it('a syntax error still names the file and the fix', () => {
    const dir = project({ 'recount.config.ts': CONFIG, 'analyzers/a.ts': 'export default {\n  name: "x",,\n};\n' });
    const r = runCli(['--project', dir, 'status', '--json']);
    expect(r.code).toBe(2);
    expect(r.json.error.message).toContain('analyzers/a.ts');
    expect(r.json.error.message).toMatch(/a\.ts:2:\d+/);
    expect(r.json.error.hint).toMatch(/fix/);
  });
});
