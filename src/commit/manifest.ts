import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Column } from '../engine/engine.ts';
import type { CheckResult } from '../checks/check.ts';
import type { KeySource } from '../layout/keys.ts';
import { writeFileAndFolderDurable, writeFileDurable } from '../fs/fsync.ts';

/** Name of a version's manifest; written last, so a folder with one is complete. */
export const MANIFEST_FILE = '_manifest.json';

/** One input dataset of a version, as fingerprinted (I8). */
export interface ManifestInput {
  readonly dataset: string;
  readonly partitions: string[];
  readonly files: { path: string; size: number; mtimeMs: number }[];
  readonly fingerprint: string;
  /** For an analyzer's output: the version of each partition read (resolved once; its files are that version's). */
  readonly versions?: InputVersion[];
  readonly schema: Column[];
}

/** One upstream version a downstream version was computed from (I8). */
export interface InputVersion {
  readonly analyzer: string;
  readonly partition: string;
  readonly version: number;
  readonly attemptId: string;
}

/** `_manifest.json`: what a version holds and how it was made. */
export interface Manifest {
  readonly format: 'recount.manifest/1';
  readonly analyzer: string;
  readonly partition: string;
  readonly version: number;
  readonly attemptId: string;
  readonly createdAt: string;
  readonly rows: number;
  readonly bytes: number;
  readonly files: { path: string; rows: number; bytes: number; sha256: string }[];
  readonly schema: Column[];
  readonly keys: string[];
  readonly keySource: KeySource;
  /**
   * The key -> file rule (I3): the rule, the engine and engine version whose hash it uses (a change of either is a
   * layout change; absent before 0.1.1, where provenance.engine/engineVersion say it).
   */
  readonly layout: { files: number; rule: string; sort: string[]; engine?: string; engineVersion?: string };
  readonly checks: Pick<CheckResult, 'name' | 'kind' | 'severity' | 'passed' | 'failing'>[];
  readonly provenance: {
    readonly inputs: ManifestInput[];
    /** sha256 over every input's fingerprint: equal fingerprints mean the same input files. */
    readonly inputFingerprint: string;
    readonly sqlHash: string;
    readonly recountVersion: string;
    readonly engine: string;
    readonly engineVersion: string;
    readonly threads: number;
    readonly memoryLimitBytes: number;
    readonly host: string;
    readonly startedAt: string;
    readonly timingsMs: Record<string, number>;
    readonly peakRssBytes: number;
    /** Peak of DuckDB's own memory accounting and of its spill files, sampled during the attempt. */
    readonly duckdbPeakBytes?: number;
    readonly spillBytes?: number;
  };
}

/** sha256 of a file, streamed. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

function manifestText(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Write a manifest durably into a folder; returns the sha256 of its bytes. */
export function writeManifest(dir: string, manifest: Manifest): string {
  const text = manifestText(manifest);
  writeFileDurable(join(dir, MANIFEST_FILE), text);
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Write a manifest, then flush it and its folder together, which also makes the folder's entries for the
 * staged files durable; returns the sha256 of its bytes. The attempt's last step before it claims the publish.
 */
export async function writeManifestAndFolder(dir: string, manifest: Manifest): Promise<string> {
  const text = manifestText(manifest);
  await writeFileAndFolderDurable(join(dir, MANIFEST_FILE), text);
  return createHash('sha256').update(text).digest('hex');
}

/** Read a version folder's manifest, or undefined if it has none. */
export function readManifest(dir: string): Manifest | undefined {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
}

/** The upstream versions a version was computed from (its manifest's provenance), [] when it read only source datasets or its folder is gone. */
export function inputVersionsOf(dir: string): InputVersion[] {
  try {
    return readManifest(dir)?.provenance.inputs.flatMap((i) => i.versions ?? []) ?? [];
  } catch {
    return [];
  }
}
