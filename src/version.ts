import { readFileSync } from 'node:fs';
import { packagePath } from './paths.ts';

/** recount's own version, from package.json; recorded in every version's provenance. */
export const RECOUNT_VERSION: string = (
  JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }
).version;
