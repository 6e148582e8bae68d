import { type Manifest, readManifest } from '../../commit/manifest.ts';
import type { EngineSession } from '../../engine/engine.ts';
import type { CheckedInput } from '../checkedInput.ts';
import { assertSameInputSchema, checkInputFiles, createInputViews } from '../inputs.ts';
import type { Attempt } from './attempt.ts';
import type { ResolvedInputs } from './resolve.ts';

/** The inputs as the engine read them, and the manifest of the version published before this attempt. */
export interface InputsRead {
  readonly inputs: CheckedInput[];
  readonly previousManifest: Manifest | undefined;
}

/**
 * Phase 3: read every input's files in the engine (corrupt or missing ones fail here, named), compare their schema
 * with what the published version read, and make one view per input for the analyzer's SQL.
 */
export async function readAttemptInputs(
  attempt: Attempt,
  session: EngineSession,
  { resolved }: ResolvedInputs,
): Promise<InputsRead> {
  const { analyzer, partition } = attempt;
  // An engine that takes statements at once declares the partition's variables while the inputs are read.
  const variables = session.concurrentStatements ? session.setPartitionVariables(partition) : undefined;
  variables?.catch(() => undefined);
  const previous = await attempt.ctx.store.publishedVersion(analyzer.name, partition.id);
  const previousManifest = previous ? readManifest(previous.dir) : undefined;
  // Types are compared in one engine's words: after an engine switch the previous version's are another's.
  const sameEngine = previousManifest?.provenance.engine === session.engine;
  const inputs: CheckedInput[] = [];
  for (const r of resolved) {
    const checked = await checkInputFiles(session, r);
    assertSameInputSchema(
      checked,
      sameEngine ? previousManifest?.provenance.inputs.find((i) => i.dataset === r.dataset.name) : undefined,
      partition.id,
      attempt.opts.acceptSchemaChange ?? false,
    );
    inputs.push(checked);
  }
  await createInputViews(session, inputs, partition, variables);
  return { inputs, previousManifest };
}
