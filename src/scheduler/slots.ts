/** What decides how many attempts may run at once. */
export interface SlotInputs {
  readonly running: number;
  readonly backlog: number;
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly freeMemoryBytes: number;
  /** The largest memory budget of any analyzer: what one more attempt may need. */
  readonly largestBudgetBytes: number;
}

/**
 * Slots grow with the backlog up to max workers and shrink back to min, but only as far as free memory
 * holds one more budget each (the first seed's dynamic allocation, without overcommitting memory).
 * At least one slot stays open while there is work, so a busy machine slows down instead of stalling.
 */
export function computeSlots(s: SlotInputs): number {
  const wanted = Math.min(s.maxWorkers, Math.max(s.minWorkers, s.running + s.backlog));
  const byMemory = s.running + Math.floor((s.freeMemoryBytes * 0.9) / Math.max(1, s.largestBudgetBytes));
  return Math.max(Math.min(wanted, byMemory), Math.min(1, wanted));
}
