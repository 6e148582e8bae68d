import { rmSync } from 'node:fs';
import { tempDir } from '../../helpers/project.ts';
import { SparkEngine } from '../../../src/engine/spark/sparkEngine.ts';
import { SPARK_LAYOUT_SCHEME } from '../../../src/layout/schemes.ts';
import { sparkRemote } from '../../spark/remote.ts';
import { engineContract } from '../contract.ts';

const dirs: string[] = [];

// The staging folders are local: the test server is local[2] on this machine, so both sides see them. Four shuffle
// partitions, as many as the layout test's files: a GROUP BY of the keys is then already partitioned as the
// layout asks, Spark drops the repartition, and adaptive execution would coalesce buckets into one file.
engineContract({
  name: 'spark',
  layoutScheme: SPARK_LAYOUT_SCHEME,
  open: (spillDir) =>
    new SparkEngine({ remote: sparkRemote(), conf: { 'spark.sql.shuffle.partitions': '4' } }).open({
      memoryBytes: 300_000_000,
      threads: 2,
      spillDir,
    }),
  dir() {
    const dir = tempDir('recount-spark-contract-');
    dirs.push(dir);
    return dir;
  },
  async cleanup() {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  },
});
