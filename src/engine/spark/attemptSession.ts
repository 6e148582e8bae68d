// The Spark Connect session of an attempt, named after the attempt: recovery finds a dead attempt's session on the
// server by its id alone, and interrupts the jobs it left running there.
import { createHash } from 'node:crypto';

/** The UUID namespace of attempt sessions (a random v4 UUID, fixed forever: changing it orphans running sessions). */
const NAMESPACE = Buffer.from('6c0d3f2a9b1e4c57a8e2d41f0b7c9e35', 'hex');

/**
 * The Spark Connect session id of an attempt: the RFC 4122 name-based (version 5, SHA-1) UUID of its attempt id.
 * Spark Connect wants a UUID; one derived from the attempt id needs no column in the attempts table.
 */
export function attemptSessionId(attemptId: string): string {
  const b = createHash('sha1').update(NAMESPACE).update(attemptId, 'utf8').digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
