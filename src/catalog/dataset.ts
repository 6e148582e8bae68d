import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { RecountError } from '../errors.ts';
import { coveringPartitions, partitionPath, type Grain, type Partition } from './partition.ts';

/** A dataset: Parquet files under a root, Hive-partitioned by time. Analyzer outputs are datasets too. */
export interface Dataset {
  readonly name: string;
  /** Absolute root folder. */
  readonly root: string;
  readonly grain: Grain;
  /** The analyzer that produces this dataset, if it is an analyzer's output. */
  readonly producer?: string;
}

/** One input file as fingerprinted: path relative to the dataset root, size and modification time. */
export interface InputFile {
  readonly path: string;
  readonly absPath: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** The marker file that makes a partition ready (the Hadoop convention). */
export const SUCCESS_MARKER = '_SUCCESS';

/** Absolute folder of one partition of a dataset. */
export function partitionDir(ds: Dataset, p: Partition): string {
  return join(ds.root, partitionPath(p));
}

/** True when the partition's `_SUCCESS` marker exists. */
export function isReady(ds: Dataset, p: Partition): boolean {
  return existsSync(join(partitionDir(ds, p), SUCCESS_MARKER));
}

/** Data files of a ready partition: `*.parquet`, not hidden, sorted by name; follows a published symlink. */
export function listPartitionFiles(ds: Dataset, p: Partition): InputFile[] {
  const dir = partitionDir(ds, p);
  const rel = partitionPath(p);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.parquet') && !f.startsWith('.') && !f.startsWith('_'))
    .sort()
    .map((f) => {
      const abs = join(dir, f);
      const st = statSync(abs);
      return { path: `${rel}/${f}`, absPath: abs, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) };
    });
}

/** The input of one analyzer partition from one dataset: the covering partitions and their files. */
export interface ResolvedInput {
  readonly dataset: Dataset;
  readonly partitions: string[];
  readonly files: InputFile[];
  /** sha256 over (path, size, mtime) of every file. */
  readonly fingerprint: string;
}

/**
 * Resolve the files one analyzer partition reads from a dataset. Every covering partition must be
 * ready (a day of an hourly dataset needs all 24 hours); otherwise PARTITION_NOT_READY names the missing ones.
 */
export function resolveInput(ds: Dataset, p: Partition): ResolvedInput {
  const parts = coveringPartitions(p, ds.grain);
  const missing = parts.filter((q) => !isReady(ds, q));
  if (missing.length > 0) {
    const names = missing.map((q) => q.id);
    const shown = names.length > 6 ? `${names.slice(0, 6).join(', ')} and ${names.length - 6} more` : names.join(', ');
    throw new RecountError('PARTITION_NOT_READY', `input '${ds.name}' is not ready for ${p.id}: no ${SUCCESS_MARKER} in ${shown}`, {
      subject: `${ds.name}/${missing[0] ? partitionPath(missing[0]) : ''}`,
      hint: ds.producer
        ? `run or backfill analyzer '${ds.producer}' for ${shown} first`
        : `wait for the partition to land (its writer creates ${SUCCESS_MARKER} last), then rerun`,
      details: { dataset: ds.name, missing: names },
    });
  }
  const files = parts.flatMap((q) => listPartitionFiles(ds, q));
  return { dataset: ds, partitions: parts.map((q) => q.id), files, fingerprint: fingerprintFiles(files) };
}

/** Stable fingerprint of a set of files: any change of name, size or mtime changes it. */
export function fingerprintFiles(files: readonly InputFile[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.path}\0${f.size}\0${f.mtimeMs}\n`);
  return h.digest('hex');
}
