import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { RecountError } from '../errors.ts';
import { readManifest, type InputVersion } from '../commit/manifest.ts';
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

/** One partition resolved once: the real folder it pointed at, its data files there, and the version when it is a recount output. */
export interface PartitionSnapshot {
  /** The real folder (for recount output, the version folder the published link pointed at when resolved). */
  readonly dir: string;
  readonly files: InputFile[];
  readonly version?: InputVersion;
}

/**
 * Resolve a ready partition once (I1): follow its path (a published symlink) to the real folder, then take the
 * files from that folder — from its `_manifest.json` when it is a recount version, else `*.parquet` (not hidden),
 * sorted by name. Every absPath is inside the real folder, so a publish that swaps the link afterwards cannot
 * change what is read: never some files of one version and some of the next.
 */
export function snapshotPartition(ds: Dataset, p: Partition): PartitionSnapshot {
  try {
    return resolveSnapshot(ds, p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new RecountError(
      'PARTITION_NOT_READY',
      `input '${ds.name}' ${p.id} changed while it was resolved: ${(err as Error).message}`,
      {
        subject: `${ds.name}/${partitionPath(p)}`,
        hint: ds.producer
          ? `a version of '${ds.producer}' ${p.id} was pruned or replaced meanwhile; rerun`
          : 'the partition was rewritten meanwhile; rerun once its writer is done (it writes _SUCCESS last)',
        cause: err,
      },
    );
  }
}

function resolveSnapshot(ds: Dataset, p: Partition): PartitionSnapshot {
  const rel = partitionPath(p);
  const dir = realpathSync(partitionDir(ds, p));
  const manifest = readManifest(dir);
  const names = manifest
    ? manifest.files.map((f) => f.path)
    : readdirSync(dir)
        .filter((f) => f.endsWith('.parquet') && !f.startsWith('.') && !f.startsWith('_'))
        .sort();
  const files = names.map((f) => {
    const abs = join(dir, f);
    const st = statSync(abs);
    return { path: `${rel}/${f}`, absPath: abs, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) };
  });
  const version = manifest
    ? {
        analyzer: manifest.analyzer,
        partition: manifest.partition,
        version: manifest.version,
        attemptId: manifest.attemptId,
      }
    : undefined;
  return { dir, files, ...(version ? { version } : {}) };
}

/** Data files of a ready partition, resolved once (see snapshotPartition): real paths of one version's files. */
export function listPartitionFiles(ds: Dataset, p: Partition): InputFile[] {
  return snapshotPartition(ds, p).files;
}

/** The input of one analyzer partition from one dataset: the covering partitions and their files. */
export interface ResolvedInput {
  readonly dataset: Dataset;
  readonly partitions: string[];
  readonly files: InputFile[];
  /** For an analyzer's output: the version of each covering partition that was read. */
  readonly versions?: InputVersion[];
  /** sha256 over (path, size, mtime) of every file, and the versions read when there are any. */
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
    throw new RecountError(
      'PARTITION_NOT_READY',
      `input '${ds.name}' is not ready for ${p.id}: no ${SUCCESS_MARKER} in ${shown}`,
      {
        subject: `${ds.name}/${missing[0] ? partitionPath(missing[0]) : ''}`,
        hint: ds.producer
          ? `run or backfill analyzer '${ds.producer}' for ${shown} first`
          : `wait for the partition to land (its writer creates ${SUCCESS_MARKER} last), then rerun`,
        details: { dataset: ds.name, missing: names },
      },
    );
  }
  const snaps = parts.map((q) => snapshotPartition(ds, q));
  const files = snaps.flatMap((s) => s.files);
  const versions = snaps.flatMap((s) => (s.version ? [s.version] : []));
  return {
    dataset: ds,
    partitions: parts.map((q) => q.id),
    files,
    ...(versions.length ? { versions } : {}),
    fingerprint: versions.length ? fingerprintVersions(files, versions) : fingerprintFiles(files),
  };
}

/** fingerprintFiles, plus the upstream versions read: a downstream version's fingerprint names the versions it was computed from. */
export function fingerprintVersions(files: readonly InputFile[], versions: readonly InputVersion[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.path}\0${f.size}\0${f.mtimeMs}\n`);
  for (const v of versions) h.update(`@${v.analyzer}\0${v.partition}\0v${v.version}\0${v.attemptId}\n`);
  return h.digest('hex');
}

/** Stable fingerprint of a set of files: any change of name, size or mtime changes it. */
export function fingerprintFiles(files: readonly InputFile[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.path}\0${f.size}\0${f.mtimeMs}\n`);
  return h.digest('hex');
}
