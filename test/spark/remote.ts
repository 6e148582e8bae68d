// The Spark Connect server of this test run (started by test/spark/globalSetup.ts).
import { inject } from 'vitest';

/** `sc://host:port` of the run's Spark Connect server. */
export function sparkRemote(): string {
  return inject('sparkRemote');
}
