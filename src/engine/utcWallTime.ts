/**
 * A UTC instant as wall-clock text, `YYYY-MM-DD HH:MM:SS.mmm`: what a TIMESTAMP literal takes on either engine
 * (both sessions run in UTC), e.g. for the partition bounds an analyzer's SQL reads.
 */
export function utcWallTime(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}
