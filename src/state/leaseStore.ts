import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { StateDialect } from './stateDialect.ts';
import type { StateSchema } from './types.ts';

/** How often a process that owns work beats its lease. */
export const LEASE_BEAT_MS = 15_000;
/** A lease not beaten for this long belongs to a dead process (six missed beats: a busy machine is not a dead one). */
export const LEASE_EXPIRY_MS = 90_000;

/**
 * The state store's clock, `offsetMs` from now, as the ISO text lease times are stored in (`2026-01-02T03:04:05.678Z`):
 * every lease time is written and judged by this one clock, so a host whose own clock is off never makes a live
 * owner look dead (or a dead one live).
 */
export function storeClock(dialect: StateDialect, offsetMs = 0): RawBuilder<string> {
  const seconds = (Math.round(offsetMs) / 1000).toFixed(3);
  if (dialect === 'postgres') {
    return sql<string>`to_char((clock_timestamp() + make_interval(secs => ${seconds}::double precision)) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  }
  return sql<string>`strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${`${seconds} seconds`})`;
}

/**
 * Process leases in the state store. A process can judge an owner in its own boot and pid namespace by its pid;
 * any other owner (another host, another container sharing the host name) it cannot, so every process that owns
 * attempts or queue claims beats a lease, and a lease not beaten for LEASE_EXPIRY_MS of the store's clock means
 * its owner died (its attempts are crashed, its claims requeued, its publishes recovered).
 */
export class LeaseStore {
  constructor(
    private readonly db: Kysely<StateSchema>,
    private readonly dialect: StateDialect,
  ) {}

  /**
   * Take or refresh the lease of (host, token), stamped with the store's clock. `backdateMs` records the beat as
   * that much older (tests of expiry and repair tools only).
   */
  async beat(host: string, token: string, pid: number, backdateMs = 0): Promise<void> {
    const ts = storeClock(this.dialect, -backdateMs);
    await this.db
      .insertInto('process_leases')
      .values({ host, proc_token: token, pid, started_at: ts, beat_at: ts })
      .onConflict((oc) => oc.columns(['host', 'proc_token']).doUpdateSet({ beat_at: ts }))
      .execute();
  }

  /** Give the lease up (a clean exit). */
  async release(host: string, token: string): Promise<void> {
    await this.db.deleteFrom('process_leases').where('host', '=', host).where('proc_token', '=', token).execute();
  }

  /** Whether (host, token) beat its lease within LEASE_EXPIRY_MS, by the store's clock. */
  async isLive(host: string, token: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('process_leases')
      .select('beat_at')
      .where('host', '=', host)
      .where('proc_token', '=', token)
      .where('beat_at', '>=', storeClock(this.dialect, -LEASE_EXPIRY_MS))
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Remove leases not beaten for `olderThanMs` of the store's clock (their owners are long gone). */
  async prune(olderThanMs: number): Promise<number> {
    const r = await this.db
      .deleteFrom('process_leases')
      .where('beat_at', '<', storeClock(this.dialect, -olderThanMs))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
