import type { StateStore } from '../state/store.ts';
import { isProcessAlive, judgedByPid } from '../process/identity.ts';

/**
 * True if the owner (host, token) of an attempt, a queue claim or a temp link is alive: in this host's boot and
 * pid namespace by its pid and start time (exact); anywhere else (another host, another container on this host
 * name) by its lease in the state store, judged by the store's clock (src/state/leaseStore.ts).
 */
export async function ownerAlive(store: StateStore, host: string, token: string): Promise<boolean> {
  if (judgedByPid(host, token)) return isProcessAlive(host, token);
  return store.leases.isLive(host, token);
}
