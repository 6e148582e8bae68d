import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { StateStore } from '../state/store.ts';

/** The fields of /proc/<pid>/stat after the command name (state first), or undefined where it cannot be read. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Start time of a process (Linux: field 22 of /proc/<pid>/stat), or '' where it cannot be read. */
function startTime(pid: number): string {
  return statFields(pid)?.[19] ?? '';
}

/** This process's liveness token: pid plus start time, so a reused pid never passes for it. */
export function currentProcToken(): string {
  return `${process.pid}:${startTime(process.pid)}`;
}

/** This machine's name as recorded with each attempt. */
export const HOST = hostname();

/**
 * True if the process that recorded (host, token) may still be running, as far as this machine alone can tell:
 * another host's process is assumed alive. Use ownerAlive() where the state store is at hand.
 */
export function isProcessAlive(host: string, token: string): boolean {
  if (host !== HOST) return true;
  const [pidText, start] = token.split(':');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const fields = statFields(pid);
  // A zombie (exited, not yet reaped: an orphaned worker whose new parent has not waited for it) is dead.
  if (fields?.[0] === 'Z' || fields?.[0] === 'X') return false;
  return start === '' || (fields?.[19] ?? '') === start;
}

/**
 * True if the owner (host, token) of an attempt or a queue claim is alive: on this host by its pid (exact); on
 * another host by its lease in the state store, beaten within LEASE_EXPIRY_MS (src/state/leaseStore.ts).
 */
export async function ownerAlive(store: StateStore, host: string, token: string): Promise<boolean> {
  if (host === HOST) return isProcessAlive(host, token);
  return store.leases.isLive(host, token);
}
