// The Spark Connect server of this test run (started by test/spark/globalSetup.ts).
import { inject } from 'vitest';

/** `sc://host:port` of the run's Spark Connect server. */
export function sparkRemote(): string {
  return inject('sparkRemote');
}

/** The Spark driver's web UI of the run's server (its REST API is under /api/v1); undefined when the server is an existing one without RECOUNT_SPARK_UI. */
export function sparkUiUrl(): string | undefined {
  return inject('sparkUiUrl') || undefined;
}
