/**
 * Named fault points for crash tests. With RECOUNT_FAULT=<name> set, the process kills itself with
 * SIGKILL when it reaches that point: no cleanup handler runs, exactly as if the machine died there.
 */
export const faultPoints = [
  'during-query',
  'after-first-file-staged',
  'after-files-staged',
  'after-manifest',
  'after-claim',
  'during-publish',
  'after-publish',
  'before-complete',
  'during-recovery',
] as const;

/** The name of one fault point. */
export type FaultPoint = (typeof faultPoints)[number];

/** Die here, now, with SIGKILL, if this fault point is armed. */
export function faultPoint(name: FaultPoint): void {
  if (process.env.RECOUNT_FAULT === name) {
    process.kill(process.pid, 'SIGKILL');
  }
}
