import { readFileSync } from 'node:fs';

/** recount's own version, from package.json; recorded in every version's provenance. */
export const RECOUNT_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
