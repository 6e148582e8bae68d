import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { RecountError } from '../errors.ts';
import { importModuleFile } from '../config/tsLoader.ts';

/** Import a candidate analyzer file (`export default defineAnalyzer({...})`), TypeScript included. */
export async function loadDefinition(
  projectDir: string,
  file: string,
): Promise<{ file: string; absPath: string; value: Record<string, unknown> }> {
  // Relative to where the command runs, else to the project folder (--project elsewhere).
  const fromCwd = resolve(process.cwd(), file);
  const absPath = isAbsolute(file) ? file : existsSync(fromCwd) ? fromCwd : resolve(projectDir, file);
  const shown = relative(projectDir, absPath) || absPath;
  if (!existsSync(absPath)) {
    throw new RecountError('USAGE', `--definition ${file}: no such file`, {
      subject: file,
      hint: 'give the path of a file that exports default defineAnalyzer({...})',
    });
  }
  let mod: Record<string, unknown>;
  try {
    mod = await importModuleFile(absPath);
  } catch (err) {
    throw new RecountError('CONFIG_INVALID', `${shown}: cannot be loaded: ${(err as Error).message}`, {
      subject: shown,
      hint: 'fix the error in the candidate definition',
      cause: err,
    });
  }
  const value = mod.default;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RecountError('CONFIG_INVALID', `${shown}: has no default export of an analyzer`, {
      subject: shown,
      hint: 'end the file with `export default defineAnalyzer({...})`',
    });
  }
  return { file: shown, absPath, value: value as Record<string, unknown> };
}
