// Who this process is, and whether a process recorded by (host, token) can still be running, as far as the
// process table of this machine can tell. Neutral: the state store, commit protocol and scheduler all use it.
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

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

/** This kernel's boot id (changes at every boot; the same in every container of one machine), or '' off Linux. */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replaceAll('-', '');
  } catch {
    return '';
  }
}

/** This process's pid namespace (`pid:[4026531836]` -> `4026531836`): two containers on one kernel differ here. */
function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '';
  } catch {
    return '';
  }
}

/**
 * Who a process is, beyond its host name: its pid and the pid's start time (a reused pid is another process), the
 * boot id and pid namespace it runs in (two containers sharing a host name differ in these), and a random id (so
 * no two processes anywhere share a token).
 */
export interface ProcIdentity {
  readonly pid: number;
  readonly start: string;
  /** '' in a token recorded by a recount that did not record it. */
  readonly boot: string;
  readonly pidNs: string;
  readonly nonce: string;
}

const SELF: ProcIdentity = {
  pid: process.pid,
  start: startTime(process.pid),
  boot: bootId(),
  pidNs: pidNamespace(),
  nonce: randomBytes(6).toString('hex'),
};

/** A token as recorded: `pid:start:boot:pidns:nonce`; older recounts recorded `pid:start`. */
export function formatProcToken(id: ProcIdentity): string {
  return `${id.pid}:${id.start}:${id.boot}:${id.pidNs}:${id.nonce}`;
}

/** The identity a token names, or undefined if it is not one. Fields an older recount did not record are ''. */
export function parseProcToken(token: string): ProcIdentity | undefined {
  const [pidText, start = '', boot = '', pidNs = '', nonce = ''] = token.split(':');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { pid, start, boot, pidNs, nonce };
}

/** This process's identity. */
export function currentProcIdentity(): ProcIdentity {
  return SELF;
}

/** This process's liveness token (see ProcIdentity): unique across processes, boots and containers. */
export function currentProcToken(): string {
  return formatProcToken(SELF);
}

/** This machine's name as recorded with each attempt. */
export const HOST = hostname();

/**
 * Whether this process can judge the owner of `token` by its pid: the owner ran on this host name, in this boot
 * and this pid namespace. Another container sharing the host name (its own pid namespace) or another machine
 * with the same name (another boot id) cannot be signalled from here; its lease tells. A token of an older
 * recount (no boot id, no namespace) is judged by its pid, as that recount did.
 */
export function judgedByPid(host: string, token: string): boolean {
  if (host !== HOST) return false;
  const id = parseProcToken(token);
  if (!id) return true;
  if (id.boot === '' && id.pidNs === '') return true;
  return id.boot === SELF.boot && id.pidNs === SELF.pidNs;
}

/**
 * True if the process that recorded (host, token) may still be running, as far as this process alone can tell:
 * an owner it cannot judge by pid (another host, another container, another boot) is assumed alive. Use
 * ownerAlive() where the state store is at hand.
 */
export function isProcessAlive(host: string, token: string): boolean {
  if (!judgedByPid(host, token)) return true;
  const id = parseProcToken(token);
  if (!id) return false;
  try {
    process.kill(id.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const fields = statFields(id.pid);
  // A zombie (exited, not yet reaped: an orphaned worker whose new parent has not waited for it) is dead.
  if (fields?.[0] === 'X' || fields?.[0] === 'Z') return false;
  return id.start === '' || (fields?.[19] ?? '') === id.start;
}
