import type { Kysely } from 'kysely';
import type { StateSchema } from '../state/types.ts';
import { AlertStore } from './alerts/alertStore.ts';
import { MemorySampleStore } from './memorySamples.ts';
import { ObserveReads } from './reads.ts';

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
