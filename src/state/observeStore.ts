import type { Kysely } from 'kysely';
import type { StateSchema } from './types.ts';
import { AlertStore } from './alertStore.ts';
import { MemorySampleStore } from './memorySampleStore.ts';
import { ObserveReads } from './observeReads.ts';

/** The state store's part for observability: alerts, memory samples, and the summaries metrics and the dashboard read. */
export class ObserveStore {
  readonly alerts: AlertStore;
  readonly samples: MemorySampleStore;
  readonly reads: ObserveReads;

  constructor(db: Kysely<StateSchema>) {
    this.alerts = new AlertStore(db);
    this.samples = new MemorySampleStore(db);
    this.reads = new ObserveReads(db);
  }
}
