import type { Column, EngineSession, WrittenLayout } from '../../engine/engine.ts';
import { asRecountError, RecountError } from '../../errors.ts';
import { faultPoint } from '../../fault.ts';
import { ensureDirDurable } from '../../fs/ensureDir.ts';
import { versionTag } from '../../layout/bucketing.ts';
import { chooseKeys, type KeyChoice } from '../../layout/keys.ts';
import { ONE_THREAD_INPUT_BYTES } from '../attemptThreads.ts';
import { explainRunError } from '../inputs.ts';
import { queryColumns } from '../queryColumns.ts';
import type { Attempt } from './attempt.ts';
import type { InputsRead } from './checkInputs.ts';

/** What the analyzer's query will produce: its columns and the keys its rows are laid out by. */
export interface OutputPlan {
  readonly columns: Column[];
  readonly keyChoice: KeyChoice;
}

/** Phase 2: the attempt's private staging folder, made durably (its parent knows it) before anything is written in it. */
export function makeStagingDir(attempt: Attempt): void {
  try {
    ensureDirDurable(attempt.stagingDir);
  } catch (err) {
    throw stagingError(err, attempt.ctx.project.outputRoot);
  }
}

function stagingError(err: unknown, root: string): RecountError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') return asRecountError(err);
  return new RecountError('OUTPUT_NOT_WRITABLE', `output root ${root} is not writable: ${(err as Error).message}`, {
    subject: root,
    hint: 'point output (recount.config.ts or RECOUNT_OUTPUT) at a folder recount can write, or fix its permissions',
    cause: err,
  });
}

/** Phase 4: plan the query over the input views: its columns, and the keys (declared or inferred) of its rows. */
export async function planOutput(attempt: Attempt, session: EngineSession, read: InputsRead): Promise<OutputPlan> {
  const { analyzer, partition } = attempt;
  let columns: Column[];
  try {
    columns = await queryColumns(session, analyzer.sql, read.inputs);
  } catch (err) {
    throw await explainRunError(session, err, analyzer.file, partition, read.inputs);
  }
  const keyChoice = await chooseKeys(session, {
    sql: analyzer.sql,
    declared: analyzer.keys,
    columns,
    file: analyzer.file,
  });
  if (keyChoice.warning) attempt.warnings.push(keyChoice.warning);
  return { columns, keyChoice };
}

function inputBytes(read: InputsRead): number {
  return read.inputs.reduce((sum, i) => sum + i.files.reduce((s, f) => s + f.size, 0), 0);
}

/** Phase 5: run the query into the staging folder as the deterministic layout: key-hashed files, sorted by key (I3). */
export async function writeStaged(
  attempt: Attempt,
  session: EngineSession,
  read: InputsRead,
  plan: OutputPlan,
): Promise<WrittenLayout> {
  const { analyzer, partition } = attempt;
  let written: WrittenLayout;
  try {
    written = await session.writeLayout({
      sql: analyzer.sql,
      keys: plan.keyChoice.keys,
      files: analyzer.fileCount,
      dir: attempt.stagingDir,
      tag: versionTag(attempt.id),
      previousFileCount: read.previousManifest?.layout.files,
      smallInput: inputBytes(read) < ONE_THREAD_INPUT_BYTES,
    });
  } catch (err) {
    throw await explainRunError(session, err, analyzer.file, partition, read.inputs);
  }
  faultPoint('after-files-staged');
  return written;
}
