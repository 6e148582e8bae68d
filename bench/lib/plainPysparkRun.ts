import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sparkCacheDir, sparkHome } from '../../test/spark/sparkServer.ts';
import { BENCH_DIR } from './paths.ts';

/** Python packages of PySpark's Spark Connect client (pandas, pyarrow, grpcio, …), installed beside pyspark by pip. */
export const PY_DEPS = process.env.RECOUNT_PYSPARK_DEPS ?? join(sparkCacheDir(), 'pyspark-connect-deps');

/** pyspark's bundled py4j (its Connect client imports it too), since pyspark is installed without dependencies. */
function py4j(): string[] {
  const lib = join(sparkHome(), 'python', 'lib');
  return existsSync(lib)
    ? readdirSync(lib)
        .filter((f) => f.startsWith('py4j-'))
        .map((f) => join(lib, f))
    : [];
}

/**
 * Run bench/lib/plainPyspark.py once (read -> SQL -> repartition -> sort -> write on `remote`) into a scratch
 * folder, removed after; returns the script's own seconds from session creation to the end of its write.
 */
export function runPlainPyspark(remote: string, files: number, sql: string, inputs: readonly string[]): number {
  const out = join(tmpdir(), `recount-bench-pyspark-${process.pid}-${Date.now()}`);
  rmSync(out, { recursive: true, force: true });
  const r = spawnSync('python3', [join(BENCH_DIR, 'lib/plainPyspark.py'), remote, out, String(files), sql, ...inputs], {
    encoding: 'utf8',
    env: {
      ...process.env,
      PYTHONPATH: [join(sparkHome(), '..'), PY_DEPS, ...py4j()].join(':'),
      SPARK_HOME: sparkHome(),
    },
  });
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`plain PySpark failed: ${r.stderr.slice(-1500)}`);
  return (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { work_s: number }).work_s;
}
