import type { Analyzer, Project } from '../config/project.ts';
import { subquery } from '../engine/queryText.ts';
import { isReady, listPartitionFiles, type Dataset } from '../catalog/dataset.ts';
import { parsePartition, type Partition } from '../catalog/partition.ts';
import type { EngineSession } from '../engine/engine.ts';
import { resolveInputs } from '../run/fingerprint.ts';
import { checkInputFiles, createInputViews, type CheckedInput } from '../run/inputs.ts';
import { listPartitionIds } from '../scheduler/discovery.ts';

/** Views named after an analyzer's inputs over exactly the files one partition reads, as a run creates them. */
export async function viewPartitionInputs(
  session: EngineSession,
  project: Project,
  analyzer: Analyzer,
  partition: Partition,
): Promise<CheckedInput[]> {
  const inputs: CheckedInput[] = [];
  for (const r of resolveInputs(project, analyzer, partition)) inputs.push(await checkInputFiles(session, r));
  await createInputViews(session, inputs, partition);
  return inputs;
}

/** The newest ready partition of a dataset that holds at least one Parquet file. */
function newestReady(ds: Dataset): Partition | undefined {
  const ids = listPartitionIds(ds);
  for (let i = ids.length - 1; i >= 0; i--) {
    const p = parsePartition(ids[i]!, ds.grain);
    if (isReady(ds, p) && listPartitionFiles(ds, p).length > 0) return p;
  }
  return undefined;
}

/** What viewSchemaInputs found: where each input's schema came from, and the inputs it could not find. */
export interface SchemaViews {
  readonly sources: { dataset: string; from: string }[];
  readonly missing: string[];
}

/**
 * Views named after an analyzer's inputs carrying each input's current schema, for checking the SQL without
 * a run: a dataset's newest ready partition, or, for an analyzer's output with nothing published yet, that
 * analyzer's own query over its inputs (recursively). Inputs with neither are listed as missing.
 */
export async function viewSchemaInputs(
  session: EngineSession,
  project: Project,
  analyzer: Analyzer,
): Promise<SchemaViews> {
  const sources: SchemaViews['sources'] = [];
  const missing: string[] = [];
  const done = new Set<string>();
  const ensure = async (name: string): Promise<boolean> => {
    if (done.has(name)) return true;
    const ds = project.datasets.get(name);
    if (!ds) return false;
    const p = newestReady(ds);
    if (p) {
      await session.createParquetView(
        name,
        listPartitionFiles(ds, p).map((f) => f.absPath),
      );
      sources.push({ dataset: name, from: `partition ${p.id}` });
      done.add(name);
      return true;
    }
    const producer = ds.producer ? project.analyzers.get(ds.producer) : undefined;
    let upstreamKnown = Boolean(producer);
    for (const i of producer?.inputs ?? []) upstreamKnown = (await ensure(i)) && upstreamKnown;
    if (producer && upstreamKnown) {
      await session.exec(
        `CREATE OR REPLACE VIEW ${session.dialect.ident(name)} AS SELECT * FROM ${subquery(producer.sql)} LIMIT 0`,
      );
      sources.push({ dataset: name, from: `analyzer ${producer.name}'s query (nothing published yet)` });
      done.add(name);
      return true;
    }
    return false;
  };
  // Partition variables, so SQL that reads getvariable('partition_start') binds; any partition will do for a plan.
  const now = new Date();
  const p = parsePartition(
    `${now.toISOString().slice(0, 10)}${analyzer.grain === 'hour' ? `T${now.toISOString().slice(11, 13)}` : ''}`,
    analyzer.grain,
  );
  await session.setPartitionVariables(p);
  for (const input of analyzer.inputs) if (!(await ensure(input))) missing.push(input);
  return { sources, missing };
}
