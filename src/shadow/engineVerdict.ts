import { isFloatType } from '../layout/keys.ts';
import type { DiffReport } from '../diff/diffRelations.ts';

const INTEGER = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/i;

/** A type change two engines make for the same values: one integer width for another, or one float width for another. */
function sameKind(from: string, to: string): boolean {
  return (INTEGER.test(from) && INTEGER.test(to)) || (isFloatType(from) && isFloatType(to));
}

/**
 * Whether two engines' outputs disagree: keys added, removed or duplicated, values changed (integers exactly,
 * floats beyond the tolerance), a column missing, or a type of another kind. Engines type the same query their own
 * way (DuckDB sums INTEGERs into HUGEINT, Spark into BIGINT), so a change of width alone is no disagreement: the
 * values were compared and counted as changes if they differ.
 */
export function enginesDisagree(d: DiffReport): boolean {
  return (
    d.added > 0 ||
    d.removed > 0 ||
    d.changed > 0 ||
    d.from.extraRows > 0 ||
    d.to.extraRows > 0 ||
    d.schema.onlyFrom.length + d.schema.onlyTo.length > 0 ||
    d.schema.typeChanged.some((t) => !sameKind(t.from, t.to))
  );
}
