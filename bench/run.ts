// `npm run bench [-- name…]`: run every bench/*.bench.ts (or the named ones), each as its own process
// (`node --import tsx bench/<name>.bench.ts`) so one benchmark's memory never shows in another's figures.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR } from './lib/paths.ts';

const SUFFIX = '.bench.ts';
/** Benchmarks run only when named: `peers` needs the Python tools from bench/peers/setup.sh and takes ~30 minutes. */
export const OPT_IN = ['peers'];

/** Benchmark names found in bench/: core for core.bench.ts. */
export function listBenches(dir = BENCH_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(SUFFIX))
    .map((f) => f.slice(0, -SUFFIX.length))
    .sort();
}

function main(argv: string[]): number {
  const known = listBenches();
  const wanted = argv.length > 0 ? argv : known.filter((n) => !OPT_IN.includes(n));
  const unknown = wanted.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.map((n) => `'${n}'`).join(', ')}; known: ${known.join(', ')}`);
    return 2;
  }
  const failed: string[] = [];
  for (const name of wanted) {
    console.log(`\n=== bench ${name} (bench/${name}${SUFFIX}) ===`);
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(BENCH_DIR, `${name}${SUFFIX}`)], {
      stdio: 'inherit',
    });
    const took = ((performance.now() - t0) / 1000).toFixed(1);
    if (r.status === 0) console.log(`=== ${name}: done in ${took} s ===`);
    else {
      failed.push(name);
      console.log(`=== ${name}: FAILED (${r.signal ?? `exit ${r.status}`}) after ${took} s ===`);
    }
  }
  if (failed.length > 0) console.error(`\nfailed: ${failed.join(', ')}`);
  return failed.length > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
