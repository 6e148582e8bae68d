import { join } from 'node:path';
import { writeManifestAndFolder } from '../../commit/manifest.ts';
import { hashAndFlush } from '../../commit/stagedFile.ts';
import type { EngineSession, WrittenLayout } from '../../engine/engine.ts';
import { faultPoint } from '../../fault.ts';
import { HOST } from '../../process/identity.ts';
import { buildManifest } from '../buildManifest.ts';
import type { Attempt } from './attempt.ts';
import type { InputsRead } from './checkInputs.ts';
import type { AttemptEngine, EnginePeaks } from './engineHandle.ts';
import type { ResolvedInputs } from './resolve.ts';
import type { OutputPlan } from './stage.ts';

/** What the phases before the manifest produced. */
export interface StagedOutput {
  /** The partition's seq when the attempt was recorded: the attempt would publish the next one. */
  readonly baseSeq: number;
  readonly resolved: ResolvedInputs;
  readonly read: InputsRead;
  readonly plan: OutputPlan;
  readonly written: WrittenLayout;
}

/** A staged version with its manifest written: everything the publish and the attempt's record need. */
export interface SealedVersion {
  readonly baseSeq: number;
  readonly seq: number;
  readonly files: { path: string; rows: number; bytes: number; sha256: string }[];
  readonly rows: number;
  readonly bytes: number;
  readonly keys: string[];
  readonly inputFingerprint: string;
  readonly manifestSha256: string;
  readonly engineVersion: string;
  readonly peakRssBytes: number;
  readonly peaks: EnginePeaks;
}

/**
 * Phase 7: hash and flush the staged files, build the manifest (run/buildManifest.ts, pure), close the engine
 * session and write the manifest: the staging folder is then a complete version, ready to claim.
 */
export async function sealStaged(
  attempt: Attempt,
  engine: AttemptEngine,
  session: EngineSession,
  staged: StagedOutput,
): Promise<SealedVersion> {
  const { analyzer, partition, stagingDir } = attempt;
  const { written, plan, resolved } = staged;
  // Hash and flush every staged file at once (not file after file), each in one pass through one open file: all
  // are durable before the manifest names them. DuckDB's last memory sample is taken while they are hashed.
  const [files, peaks] = await Promise.all([
    Promise.all(
      written.files.map(async (f) => {
        const { sha256, bytes } = await hashAndFlush(join(stagingDir, f.name));
        return { path: f.name, rows: f.rows, bytes, sha256 };
      }),
    ),
    engine.stopEngineSampler(),
  ]);
  const seq = staged.baseSeq + 1;
  const peakRssBytes = engine.sampler.stop();
  const manifest = buildManifest({
    analyzer,
    partition,
    seq,
    attemptId: attempt.id,
    createdAt: new Date(),
    files,
    columns: plan.columns,
    keys: plan.keyChoice,
    fileCount: written.fileCount,
    engine: { name: session.engine, version: session.version, layoutScheme: session.layoutScheme },
    checks: attempt.checks,
    inputs: staged.read.inputs,
    inputFingerprint: resolved.inputFingerprint,
    run: {
      threads: attempt.threads,
      memoryBytes: attempt.memoryBytes,
      host: HOST,
      startedAt: new Date(attempt.started),
      timings: attempt.timings,
      peakRssBytes,
      ...peaks,
    },
  });
  const engineVersion = session.version;
  engine.closeSession();
  const manifestSha256 = await writeManifestAndFolder(stagingDir, manifest);
  faultPoint('after-manifest');
  return {
    baseSeq: staged.baseSeq,
    seq,
    files,
    rows: files.reduce((s, f) => s + f.rows, 0),
    bytes: files.reduce((s, f) => s + f.bytes, 0),
    keys: plan.keyChoice.keys,
    inputFingerprint: resolved.inputFingerprint,
    manifestSha256,
    engineVersion,
    peakRssBytes,
    peaks,
  };
}
