import type { Kysely } from 'kysely';
import type { StateSchema } from './types.ts';

/** How often a process that owns work beats its lease. */
export const LEASE_BEAT_MS = 15_000;
/** A lease not beaten for this long belongs to a dead process (six missed beats: a busy machine is not a dead one). */
export const LEASE_EXPIRY_MS = 90_000;

/**
 * Process leases in the state store. A process's own host can tell whether it lives from its pid; another host
 * cannot, so every process that owns attempts or queue claims beats a lease, and a lease older than
 * LEASE_EXPIRY_MS means its owner died (its attempts are crashed, its claims requeued, its publishes recovered).
 */
export class LeaseStore {
  constructor(private readonly db: Kysely<StateSchema>) {}

  /** Take or refresh the lease of (host, token). */
  async beat(host: string, token: string, pid: number, now = new Date()): Promise<void> {
    const ts = now.toISOString();
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

  /** Whether (host, token) beat its lease within LEASE_EXPIRY_MS of `now`. */
  async isLive(host: string, token: string, now = new Date()): Promise<boolean> {
    const since = new Date(now.getTime() - LEASE_EXPIRY_MS).toISOString();
    const row = await this.db.selectFrom('process_leases').select('beat_at').where('host', '=', host).where('proc_token', '=', token).executeTakeFirst();
    return row !== undefined && row.beat_at >= since;
  }

  /** Remove leases not beaten since `before` (their owners are long gone). */
  async prune(before: Date): Promise<number> {
    const r = await this.db.deleteFrom('process_leases').where('beat_at', '<', before.toISOString()).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
