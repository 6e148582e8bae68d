import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The bench/ folder. */
export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
/** The repository root. */
export const REPO_DIR = join(BENCH_DIR, '..');
/** Where benchmarks write their CSV (gitignored). */
export const RESULTS_DIR = join(BENCH_DIR, 'results');
/** Where generated input data is cached between runs (gitignored; hundreds of MB). */
export const DATA_DIR = join(BENCH_DIR, '.data');
