import { existsSync } from 'node:fs';
import type { Column, EngineSession } from '../engine/engine.ts';
import { RecountError } from '../errors.ts';
import { explainEngineError } from './engineErrors.ts';
import { engineResourceError } from '../engine/resourceError.ts';
import type { ResolvedInput } from '../catalog/dataset.ts';
import type { Partition } from '../catalog/partition.ts';
import type { ManifestInput } from '../commit/manifest.ts';
import type { CheckedInput } from './checkedInput.ts';

export type { CheckedInput } from './checkedInput.ts';

function schemaText(cols: readonly Column[]): string {
  return cols.map((c) => `${c.name} ${c.type}`).join(', ');
}

/** Footer lookups an engine that takes statements at once has running at a time. */
const SCHEMAS_AT_ONCE = 8;

/**
 * One function per file returning its columns, called in file order. On an engine that takes statements at once,
 * calling one starts the lookups of the next files too (up to SCHEMAS_AT_ONCE): their round trips overlap, and
 * the files are still judged in order, so the first bad file is the one named.
 */
function schemaLookups(session: EngineSession, paths: readonly string[]): (() => Promise<Column[]>)[] {
  if (!session.concurrentStatements) return paths.map((p) => () => session.parquetSchema(p));
  const started: (Promise<Column[]> | undefined)[] = [];
  const start = (i: number) => {
    if (i >= paths.length || started[i]) return;
    started[i] = session.parquetSchema(paths[i]!);
    // A lookup past the first bad file is never awaited.
    started[i]!.catch(() => undefined);
  };
  return paths.map((_, i) => () => {
    for (let j = i; j < i + SCHEMAS_AT_ONCE; j++) start(j);
    return started[i]!;
  });
}

/**
 * Read every input file's footer (cheap: metadata only) so a corrupt or truncated file is named before
 * the query runs, and every file of a partition agrees on column types.
 */
export async function checkInputFiles(session: EngineSession, input: ResolvedInput): Promise<CheckedInput> {
  let schema: Column[] | undefined;
  let schemaFile = '';
  const lookups = schemaLookups(
    session,
    input.files.map((f) => f.absPath),
  );
  for (const [i, f] of input.files.entries()) {
    let cols: Column[];
    try {
      cols = await lookups[i]!();
    } catch (err) {
      // An engine that is down or out of resources says nothing about the file.
      if (
        err instanceof RecountError &&
        /^(ENGINE_UNREACHABLE|ENGINE_AUTH|ENGINE_INTERRUPTED|OUT_OF_MEMORY|DISK_FULL)$/.test(err.code)
      )
        throw err;
      throw new RecountError(
        'INPUT_CORRUPT',
        `input '${input.dataset.name}': ${f.absPath} is not a readable Parquet file: ${(err as Error).message.split('\n')[0]}`,
        {
          subject: f.absPath,
          hint: 'the file is corrupt or truncated; rewrite that partition upstream (then its _SUCCESS), and rerun. The previous version stays published',
          cause: err,
        },
      );
    }
    if (!schema) {
      schema = cols;
      schemaFile = f.absPath;
      continue;
    }
    const known = new Map(schema.map((c) => [c.name, c.type]));
    for (const c of cols) {
      const t = known.get(c.name);
      if (t !== undefined && t !== c.type) {
        throw new RecountError(
          'INPUT_SCHEMA_CHANGED',
          `input '${input.dataset.name}': column '${c.name}' is ${c.type} in ${f.absPath} but ${t} in ${schemaFile}`,
          {
            subject: `${f.absPath}: ${c.name}`,
            hint: 'files of one partition disagree on a column type; rewrite the partition with one schema',
          },
        );
      }
    }
  }
  if (!schema) {
    throw new RecountError(
      'INPUT_CORRUPT',
      `input '${input.dataset.name}' has ${input.partitions.join(', ')} marked ready but no Parquet files in it`,
      {
        subject: input.dataset.name,
        hint: 'a ready partition needs at least one .parquet file (an empty one with the schema is fine)',
      },
    );
  }
  return { ...input, schema };
}

/**
 * Compare an input's columns with the ones the last published version read: a column whose type changed
 * fails the attempt (a silent cast could change published numbers) unless the change is accepted.
 */
export function assertSameInputSchema(
  input: CheckedInput,
  previous: ManifestInput | undefined,
  previousPartition: string,
  accept: boolean,
): void {
  if (!previous || accept) return;
  const before = new Map(previous.schema.map((c) => [c.name, c.type]));
  for (const c of input.schema) {
    const t = before.get(c.name);
    if (t !== undefined && t !== c.type) {
      const file = input.files[0]?.absPath ?? input.dataset.root;
      throw new RecountError(
        'INPUT_SCHEMA_CHANGED',
        `input '${input.dataset.name}': column '${c.name}' changed type from ${t} (read by published version of ${previousPartition}) to ${c.type} (${file})`,
        {
          subject: `${file}: ${c.name}`,
          hint: `if the new type is intended, rerun with --accept-schema-change; otherwise fix the upstream writer. Was: ${schemaText(previous.schema)}`,
        },
      );
    }
  }
}

/**
 * Create one view per input, named after its dataset, over exactly the run's files, and the partition variables,
 * all at once on an engine that takes statements at once. `variables`: the partition variables being set already
 * (started by the caller beside other work), awaited instead of set again.
 */
export async function createInputViews(
  session: EngineSession,
  inputs: readonly CheckedInput[],
  partition: Partition,
  variables?: Promise<void>,
): Promise<void> {
  // The columns of the input's first file, as an engine inferring them would read them.
  const view = (input: CheckedInput) =>
    session.createParquetView(
      input.dataset.name,
      input.files.map((f) => f.absPath),
      input.schema,
    );
  const setVariables = () => variables ?? session.setPartitionVariables(partition);
  if (session.concurrentStatements) {
    await Promise.all([...inputs.map(view), setVariables()]);
    return;
  }
  for (const input of inputs) await view(input);
  await setVariables();
}

/**
 * Turn a DuckDB error from the analyzer's query into one that names the analyzer file, the input and the
 * column at fault, keeping DuckDB's own message.
 */
export function explainQueryError(
  err: unknown,
  file: string,
  partition: Partition,
  inputs: readonly CheckedInput[],
): RecountError {
  if (err instanceof RecountError) return explainEngineError(err, file, partition, inputs);
  const msg = (err as Error).message ?? String(err);
  const first = msg.split('\n')[0]!;
  const missing = /Referenced column "([^"]+)" not found/.exec(msg);
  if (missing) {
    const col = missing[1]!;
    const names = inputs.map((i) => i.dataset.name).join(', ');
    return new RecountError(
      'INPUT_MISSING_COLUMN',
      `${file}: column '${col}' is not in input ${names} for ${partition.id}. DuckDB: ${first}`,
      {
        subject: `${file}: ${col}`,
        hint: `the input has: ${inputs.map((i) => `${i.dataset.name}(${i.schema.map((c) => c.name).join(', ')})`).join('; ')}. Fix the SQL, or the upstream writer if the column went missing`,
        cause: err,
      },
    );
  }
  const resource = engineResourceError(err, file, `${file}: ${partition.id}`);
  if (resource) return resource;
  const misfit = misfitColumns(msg, inputs);
  if (misfit.length > 0) {
    const shown = misfit.map((m) => `'${m.column}' (${m.type} in input ${m.dataset})`).join(', ');
    return new RecountError(
      'SQL_INVALID',
      `${file}: DuckDB rejected the SQL for ${partition.id}: ${first} Column ${shown} does not fit there.`,
      {
        subject: `${file}: ${misfit[0]!.column}`,
        hint: `if the column's type changed upstream, fix the writer; otherwise cast it in the SQL (CAST(${misfit[0]!.column} AS <type>))`,
        details: { duckdb: msg },
        cause: err,
      },
    );
  }
  const bad = inputs.flatMap((i) => i.files).find((f) => msg.includes(f.absPath));
  if (bad && !existsSync(bad.absPath)) {
    // Inputs are read from the version resolved at the start (I1); only pruning removes a version's files.
    return new RecountError(
      'PARTITION_NOT_READY',
      `input file ${bad.absPath} was removed while ${partition.id} read it: ${first}`,
      {
        subject: bad.absPath,
        hint: 'the input version this attempt resolved was pruned or replaced meanwhile (newer versions were published); rerun, and the attempt reads the version published then. If it recurs, raise keepVersions of the upstream analyzer',
        cause: err,
      },
    );
  }
  if (bad) {
    return new RecountError('INPUT_CORRUPT', `input file ${bad.absPath} could not be read: ${first}`, {
      subject: bad.absPath,
      hint: 'the file is corrupt; rewrite that partition upstream, then rerun. The previous version stays published',
      cause: err,
    });
  }
  return new RecountError('SQL_INVALID', `${file}: DuckDB rejected the SQL for ${partition.id}: ${first}`, {
    subject: file,
    hint: `fix the sql of the analyzer in ${file}`,
    details: { duckdb: msg },
    cause: err,
  });
}

/**
 * explainQueryError, plus: when DuckDB failed while reading data without naming a file (a corrupt data page
 * gives "TProtocolException: Invalid data"), decode each input file in full to name the unreadable one,
 * rather than blaming the SQL.
 */
export async function explainRunError(
  session: EngineSession,
  err: unknown,
  file: string,
  partition: Partition,
  inputs: readonly CheckedInput[],
): Promise<RecountError> {
  const explained = explainQueryError(err, file, partition, inputs);
  if (explained.code !== 'SQL_INVALID' || /^(Parser|Binder|Catalog) Error/.test(String((err as Error)?.message)))
    return explained;
  for (const input of inputs) {
    for (const f of input.files) {
      try {
        await session.readFully(f.absPath);
      } catch (probe) {
        return new RecountError(
          'INPUT_CORRUPT',
          `input '${input.dataset.name}': ${f.absPath} cannot be read: ${(probe as Error).message.split('\n')[0]}`,
          {
            subject: f.absPath,
            hint: 'the file is corrupt; rewrite that partition upstream (then its _SUCCESS), and rerun. The previous version stays published',
            cause: err,
          },
        );
      }
    }
  }
  return explained;
}

/**
 * For DuckDB's "No function matches … 'sum(VARCHAR)'": the input columns of that type inside the call its
 * caret points at, so a column whose type changed upstream is named even when no earlier version recorded the old type.
 */
function misfitColumns(
  msg: string,
  inputs: readonly CheckedInput[],
): { dataset: string; column: string; type: string }[] {
  const m = /No function matches the given name and argument types '[^'(]*\(([^']*)\)'/.exec(msg);
  if (!m) return [];
  const argTypes = new Set(m[1]!.split(',').map((t) => t.trim()));
  const lines = msg.split('\n');
  const at = lines.findIndex((l) => /^LINE \d+: /.test(l));
  const caret = at >= 0 ? (lines[at + 1] ?? '').indexOf('^') : -1;
  if (caret < 0) return [];
  const call = lines[at]!.slice(caret);
  const words = new Set(call.slice(0, call.indexOf(')') + 1 || undefined).match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []);
  return inputs.flatMap((i) =>
    i.schema
      .filter((c) => argTypes.has(c.type) && words.has(c.name))
      .map((c) => ({ dataset: i.dataset.name, column: c.name, type: c.type })),
  );
}
