import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { RecountError } from '../errors.ts';
import { importProjectFile } from './tsLoader.ts';
import { buildProject, type AnalyzerSource, type Project } from './project.ts';

const CONFIG_NAMES = ['recount.config.ts', 'recount.config.mts', 'recount.config.js', 'recount.config.mjs'];

async function importDefault(file: string, projectDir: string, readOnly: boolean): Promise<unknown> {
  const shown = relative(projectDir, file) || file;
  let mod: Record<string, unknown>;
  try {
    mod = await importProjectFile(file, projectDir, { readOnly });
  } catch (err) {
    throw new RecountError('CONFIG_INVALID', `${shown}: cannot be loaded: ${(err as Error).message}`, {
      subject: shown,
      hint: /require\(\)|ERR_REQUIRE/.test(String((err as Error).message))
        ? 'the project must load as ES modules: add "type": "module" to its package.json (recount init writes one)'
        : 'fix the TypeScript error in that file',
      cause: err,
    });
  }
  if (mod.default === undefined) {
    throw new RecountError('CONFIG_INVALID', `${shown}: has no default export`, {
      subject: shown,
      hint: 'end the file with `export default defineAnalyzer({...})` (or defineConfig for recount.config.ts)',
    });
  }
  return mod.default;
}

/**
 * Load recount.config.ts and analyzers/*.ts from a project folder (TypeScript, no build step) and validate them.
 * `readOnly` (doctor, gc --dry-run and the like) writes nothing, not even the compile cache.
 */
export async function loadProject(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
  opts: { readOnly?: boolean } = {},
): Promise<Project> {
  const projectDir = resolve(dir);
  const configPath = CONFIG_NAMES.map((n) => join(projectDir, n)).find((p) => existsSync(p));
  if (!configPath) {
    throw new RecountError('CONFIG_NOT_FOUND', `no recount.config.ts in ${projectDir}`, {
      subject: projectDir,
      hint: "run 'recount init' to create a project, or pass --project DIR",
    });
  }
  const configFile = relative(projectDir, configPath);
  const rawConfig = await importDefault(configPath, projectDir, opts.readOnly === true);
  const analyzersDirName =
    typeof rawConfig === 'object' &&
    rawConfig !== null &&
    typeof (rawConfig as { analyzers?: unknown }).analyzers === 'string'
      ? (rawConfig as { analyzers: string }).analyzers
      : 'analyzers';
  const analyzersDir = resolve(projectDir, analyzersDirName);
  const sources: AnalyzerSource[] = [];
  if (existsSync(analyzersDir)) {
    const files = readdirSync(analyzersDir)
      .filter((f) => /\.(ts|mts|js|mjs)$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('.') && !f.startsWith('_'))
      .sort();
    for (const f of files) {
      const abs = join(analyzersDir, f);
      sources.push({
        file: relative(projectDir, abs),
        value: await importDefault(abs, projectDir, opts.readOnly === true),
      });
    }
  }
  return buildProject(projectDir, configFile, rawConfig, sources, env);
}
