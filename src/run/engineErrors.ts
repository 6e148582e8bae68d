import { RecountError } from '../errors.ts';
import type { Partition } from '../catalog/partition.ts';
import type { CheckedInput } from './checkedInput.ts';

/** The column an engine could not resolve, from Spark's error parameters or its message. */
function unresolvedColumn(err: RecountError): string | undefined {
  const errorClass = String(err.details?.errorClass ?? '');
  const message =
    /UNRESOLVED_COLUMN/.test(errorClass) || /UNRESOLVED_COLUMN/.test(err.message) ? err.message : undefined;
  if (!message) return undefined;
  const params = err.details?.messageParameters as Record<string, string> | undefined;
  const raw = params?.objectName ?? /name (`[^`]+`(?:\.`[^`]+`)*) cannot be resolved/.exec(message)?.[1];
  return raw?.split('.').at(-1)?.replace(/`/g, '');
}

/**
 * An engine that already raised a typed error (Spark Connect's client does) about the analyzer's SQL: name the
 * analyzer file, and the missing column as INPUT_MISSING_COLUMN, as for DuckDB's errors; other codes pass through.
 */
export function explainEngineError(
  err: RecountError,
  file: string,
  partition: Partition,
  inputs: readonly CheckedInput[],
): RecountError {
  if (err.code !== 'SQL_INVALID' || err.subject?.startsWith(file)) return err;
  const column = unresolvedColumn(err);
  if (column) {
    const names = inputs.map((i) => i.dataset.name).join(', ');
    return new RecountError(
      'INPUT_MISSING_COLUMN',
      `${file}: column '${column}' is not in input ${names} for ${partition.id}. ${err.message}`,
      {
        subject: `${file}: ${column}`,
        hint: `the input has: ${inputs.map((i) => `${i.dataset.name}(${i.schema.map((c) => c.name).join(', ')})`).join('; ')}. Fix the SQL, or the upstream writer if the column went missing`,
        details: err.details,
        cause: err,
      },
    );
  }
  return new RecountError('SQL_INVALID', `${file}: ${err.message} (partition ${partition.id})`, {
    subject: file,
    hint: err.hint,
    details: err.details,
    cause: err,
  });
}
