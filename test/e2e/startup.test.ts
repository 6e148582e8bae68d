// Start-up (issue 14): a command loads only what it needs. The CLI runs as a child process with a module hook
// that writes down every module it resolves; `--version` and `--help` must resolve no TypeScript loader and no
// database client, and the overview `--help` prints without loading the commands must match the commands' own.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram, programFor } from '../../src/cli/main.ts';
import { CLI, tempDir } from '../helpers/project.ts';

const dir = tempDir('recount-startup-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The modules a CLI invocation resolved (as URLs), via a resolve hook that appends each to a file. */
function modulesResolvedBy(args: string[]): { stdout: string; code: number | null; modules: string[] } {
  const log = join(dir, `modules-${args.join('_').replace(/\W/g, '')}.txt`);
  writeFileSync(log, '');
  const hook = join(dir, 'hook.mjs');
  writeFileSync(
    hook,
    `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`,
  );
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, CLI, ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { stdout: r.stdout, code: r.status, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

const HEAVY = [
  '@duckdb',
  'better-sqlite3',
  '/node_modules/pg/',
  '/node_modules/kysely/',
  '/node_modules/tsx/',
  '/node_modules/zod/',
  '/node_modules/pino/',
];

describe('start-up loads only what the command needs', () => {
  it('recount --version loads no bundle, TypeScript loader or database client', () => {
    const r = modulesResolvedBy(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.modules.filter((m) => m.includes('/node_modules/'))).toEqual([]);
  });

  it('recount --help loads no TypeScript loader or database client, and lists every command', () => {
    const r = modulesResolvedBy(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('backfill [options] <analyzer>');
    expect(r.modules.filter((m) => HEAVY.some((h) => m.includes(h)))).toEqual([]);
  });

  it('a command loads its own module only: recount init writes a project without DuckDB, SQLite or PostgreSQL', () => {
    const r = modulesResolvedBy(['init', join(dir, 'project')]);
    expect(r.code).toBe(0);
    expect(r.modules.filter((m) => HEAVY.some((h) => m.includes(h)))).toEqual([]);
  });

  it('a word that is no command, even one every object has (constructor, toString), gets the overview, not a crash', async () => {
    for (const word of ['constructor', 'toString', 'nosuch']) {
      const program = await programFor([word]);
      expect(program.commands.map((c) => c.name())).toContain('backfill');
      expect(program.commands.every((c) => c.options.length === 0)).toBe(true);
    }
  });

  it('the overview recount --help prints without loading the commands is the one the commands declare', async () => {
    const full = (await buildProgram()).helpInformation();
    const light = (await programFor(['--help'])).helpInformation();
    expect(light).toBe(full);
  });
});
