import type { Partition } from '../catalog/partition.ts';
import type { CheckResult } from '../checks/check.ts';
import type { Manifest } from '../commit/manifest.ts';
import type { Analyzer } from '../config/project.ts';
import type { Column } from '../engine/engine.ts';
import type { KeyChoice } from '../layout/keys.ts';
import { RECOUNT_VERSION } from '../version.ts';
import type { CheckedInput } from './checkedInput.ts';

/** Everything one attempt knows when its files are staged and checked: what the manifest is made of. */
export interface ManifestParts {
  readonly analyzer: Pick<Analyzer, 'name' | 'sqlHash'>;
  readonly partition: Partition;
  /** The version this attempt would publish. */
  readonly seq: number;
  readonly attemptId: string;
  readonly createdAt: Date;
  /** The staged files, hashed: name, rows, bytes, sha256. */
  readonly files: readonly { path: string; rows: number; bytes: number; sha256: string }[];
  readonly columns: readonly Column[];
  readonly keys: KeyChoice;
  readonly fileCount: number;
  /** The engine that ran it: name, version and the layout rule its hash follows. */
  readonly engine: { readonly name: string; readonly version: string; readonly layoutScheme: string };
  readonly checks: readonly CheckResult[];
  readonly inputs: readonly CheckedInput[];
  readonly inputFingerprint: string;
  readonly run: {
    readonly threads: number;
    readonly memoryBytes: number;
    readonly host: string;
    readonly startedAt: Date;
    readonly timings: Readonly<Record<string, number>>;
    readonly peakRssBytes: number;
    readonly peakMemoryBytes: number;
    readonly peakSpillBytes: number;
  };
}

/** The manifest of a staged version (I8): pure, so what a version records is tested without running anything. */
export function buildManifest(parts: ManifestParts): Manifest {
  const { analyzer, partition, files, keys, engine, run } = parts;
  return {
    format: 'recount.manifest/1',
    analyzer: analyzer.name,
    partition: partition.id,
    version: parts.seq,
    attemptId: parts.attemptId,
    createdAt: parts.createdAt.toISOString(),
    rows: files.reduce((sum, f) => sum + f.rows, 0),
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    files: files.map((f) => ({ ...f })),
    schema: [...parts.columns],
    keys: keys.keys,
    keySource: keys.source,
    layout: {
      files: parts.fileCount,
      rule: engine.layoutScheme,
      sort: keys.keys,
      engine: engine.name,
      engineVersion: engine.version,
    },
    checks: parts.checks.map(({ name, kind, severity, passed, failing }) => ({
      name,
      kind,
      severity,
      passed,
      failing,
    })),
    provenance: {
      inputs: parts.inputs.map((i) => ({
        dataset: i.dataset.name,
        partitions: i.partitions,
        files: i.files.map(({ path, size, mtimeMs }) => ({ path, size, mtimeMs })),
        fingerprint: i.fingerprint,
        ...(i.versions ? { versions: i.versions } : {}),
        schema: i.schema,
      })),
      inputFingerprint: parts.inputFingerprint,
      sqlHash: analyzer.sqlHash,
      recountVersion: RECOUNT_VERSION,
      engine: engine.name,
      engineVersion: engine.version,
      threads: run.threads,
      memoryLimitBytes: run.memoryBytes,
      host: run.host,
      startedAt: run.startedAt.toISOString(),
      timingsMs: { ...run.timings },
      peakRssBytes: run.peakRssBytes,
      duckdbPeakBytes: run.peakMemoryBytes,
      spillBytes: run.peakSpillBytes,
    },
  };
}
