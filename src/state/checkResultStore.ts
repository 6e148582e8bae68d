import type { Kysely } from 'kysely';
import type { CheckResult } from '../checks/check.ts';
import type { CheckResultRow, StateSchema } from './types.ts';

/** Insert an attempt's check results (inside a transaction or not). */
export async function insertCheckResults(
  db: Kysely<StateSchema>,
  attemptId: string,
  results: readonly CheckResult[],
): Promise<void> {
  if (results.length === 0) return;
  await db
    .insertInto('check_results')
    .values(
      results.map((r) => ({
        attempt_id: attemptId,
        name: r.name,
        kind: r.kind,
        severity: r.severity,
        passed: r.passed ? 1 : 0,
        failing: r.failing,
        sample_json: JSON.stringify(r.sample),
        message: r.message ?? null,
      })),
    )
    .execute();
}

/** An attempt's check results in the order they were recorded. */
export async function listCheckResults(db: Kysely<StateSchema>, attemptId: string): Promise<CheckResultRow[]> {
  return db.selectFrom('check_results').selectAll().where('attempt_id', '=', attemptId).orderBy('id').execute();
}
