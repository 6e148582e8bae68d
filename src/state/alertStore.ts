import { sql, type Kysely } from 'kysely';
import type { AlertRow, StateSchema } from './types.ts';
import { severityRank, type AlertInput } from './alert.ts';

/** Which alerts a listing shows. */
export interface AlertFilter {
  readonly status?: 'open' | 'resolved';
  readonly analyzer?: string;
  readonly partition?: string;
  readonly kind?: string;
}

/** What a raise did to the store. */
export interface RaiseResult {
  readonly alert: AlertRow;
  /** A new alert (no open one had its key). */
  readonly opened: boolean;
  /** An open alert whose severity went up. */
  readonly escalated: boolean;
}

/**
 * Alerts in the state store, so they survive restarts and the dashboard and other processes see them.
 * At most one open alert per key: raising an open key counts it and refreshes it instead of adding a row.
 */
export class AlertStore {
  constructor(private readonly db: Kysely<StateSchema>) {}

  /** Open an alert, or count one more raise of the open alert with the same key. */
  async raise(a: AlertInput, now = new Date()): Promise<RaiseResult> {
    const ts = now.toISOString();
    return this.db.transaction().execute(async (trx) => {
      const open = await trx
        .selectFrom('alerts')
        .selectAll()
        .where('key', '=', a.key)
        .where('status', '=', 'open')
        .executeTakeFirst();
      if (open) {
        const escalated = severityRank(a.severity) > severityRank(open.severity);
        const alert = await trx
          .updateTable('alerts')
          .set({
            count: Number(open.count) + 1,
            last_at: ts,
            title: a.title,
            detail: a.detail ?? open.detail,
            attempt_id: a.attemptId ?? open.attempt_id,
            ...(escalated ? { severity: a.severity } : {}),
          })
          .where('id', '=', open.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        return { alert, opened: false, escalated };
      }
      const alert = await trx
        .insertInto('alerts')
        .values({
          key: a.key,
          kind: a.kind,
          severity: a.severity,
          status: 'open',
          analyzer: a.analyzer ?? null,
          partition_id: a.partition ?? null,
          attempt_id: a.attemptId ?? null,
          title: a.title,
          detail: a.detail ?? null,
          count: 1,
          first_at: ts,
          last_at: ts,
          notified_at: null,
          resolved_at: null,
          resolution: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return { alert, opened: true, escalated: false };
    });
  }

  /** Resolve the open alert with this key, if any; returns it as resolved. */
  async resolve(key: string, resolution: string, now = new Date()): Promise<AlertRow | undefined> {
    // Most resolves find nothing open (every success resolves its partition's keys): a read takes no write lock.
    const open = await this.db
      .selectFrom('alerts')
      .select('id')
      .where('key', '=', key)
      .where('status', '=', 'open')
      .executeTakeFirst();
    if (!open) return undefined;
    return this.db
      .updateTable('alerts')
      .set({ status: 'resolved', resolved_at: now.toISOString(), resolution })
      .where('key', '=', key)
      .where('status', '=', 'open')
      .returningAll()
      .executeTakeFirst();
  }

  /** Resolve an alert by id (from the dashboard). */
  async resolveById(id: number, resolution: string, now = new Date()): Promise<AlertRow | undefined> {
    return this.db
      .updateTable('alerts')
      .set({ status: 'resolved', resolved_at: now.toISOString(), resolution })
      .where('id', '=', id)
      .where('status', '=', 'open')
      .returningAll()
      .executeTakeFirst();
  }

  /** Record that the sinks were told now. */
  async markNotified(id: number, now = new Date()): Promise<void> {
    await this.db.updateTable('alerts').set({ notified_at: now.toISOString() }).where('id', '=', id).execute();
  }

  /** Open alerts whose key starts with a prefix (e.g. every check alert of a partition). */
  async openWithPrefix(prefix: string): Promise<AlertRow[]> {
    return this.db
      .selectFrom('alerts')
      .selectAll()
      .where('status', '=', 'open')
      .where(sql<string>`substr(key, 1, ${prefix.length})`, '=', prefix)
      .execute();
  }

  /** Alerts, newest first (`offset` skips that many, for pages). */
  async list(filter: AlertFilter & { limit?: number; offset?: number } = {}): Promise<AlertRow[]> {
    return this.filtered(filter)
      .selectAll()
      .orderBy('last_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit ?? 500)
      .offset(filter.offset ?? 0)
      .execute();
  }

  /** How many alerts a filter matches, by kind. */
  async countByKind(filter: AlertFilter = {}): Promise<{ kind: string; n: number }[]> {
    const rows = await this.filtered({ ...filter, kind: undefined })
      .select(['kind', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('kind')
      .orderBy('kind')
      .execute();
    return rows.map((r) => ({ kind: r.kind, n: Number(r.n) }));
  }

  private filtered(filter: AlertFilter) {
    let q = this.db.selectFrom('alerts');
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.analyzer) q = q.where('analyzer', '=', filter.analyzer);
    if (filter.partition) q = q.where('partition_id', '=', filter.partition);
    if (filter.kind) q = q.where('kind', '=', filter.kind);
    return q;
  }

  /** Number of open alerts per analyzer ('' for alerts about no analyzer), and per severity. */
  async openCounts(): Promise<{ analyzer: string; severity: string; n: number }[]> {
    const rows = await this.db
      .selectFrom('alerts')
      .select(['analyzer', 'severity', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', '=', 'open')
      .groupBy(['analyzer', 'severity'])
      .execute();
    return rows.map((r) => ({ analyzer: r.analyzer ?? '', severity: r.severity, n: Number(r.n) }));
  }
}
