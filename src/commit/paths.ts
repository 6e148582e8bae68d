import { join } from 'node:path';
import { partitionPath, type Partition } from '../catalog/partition.ts';
import { parseAnyPartition } from '../catalog/parseAny.ts';

/**
 * Where recount keeps things under an output root. Published paths are `<root>/<analyzer>/dt=…[/hour=…]`
 * (symlinks); everything else lives in `<root>/.recount/`, outside any reader's glob.
 */
export class OutputLayout {
  constructor(readonly root: string) {}

  get internal(): string {
    return join(this.root, '.recount');
  }
  /**
   * Two levels down (`.recount/work/staging/<attempt>/part-*.parquet`), so a glob over every analyzer,
   * `<root>/*\/*\/*\/*.parquet`, which DuckDB lets match dot-folders, never reaches staged files.
   */
  get stagingRoot(): string {
    return join(this.internal, 'work', 'staging');
  }
  /** Where staging lived before 0.1.1 (one level shallower): recovery still sweeps it. */
  get legacyStagingRoot(): string {
    return join(this.internal, 'staging');
  }
  get tmpRoot(): string {
    return join(this.internal, 'tmp');
  }
  get versionsRoot(): string {
    return join(this.internal, 'versions');
  }
  /** The private staging folder of one attempt. */
  stagingDir(attemptId: string): string {
    return join(this.stagingRoot, attemptId);
  }
  /** The folder of one version of one partition: `.recount/versions/<analyzer>/<partition>/v000003`. */
  versionDir(analyzer: string, partitionId: string, seq: number): string {
    return join(this.versionsRoot, analyzer, partitionId, `v${String(seq).padStart(6, '0')}`);
  }
  /** The published path readers use. */
  publishedPath(analyzer: string, partition: Partition | string): string {
    const p = typeof partition === 'string' ? parseAnyPartition(partition) : partition;
    return join(this.root, analyzer, partitionPath(p));
  }
}
