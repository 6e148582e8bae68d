// Vitest global setup of the `spark` project: one Spark Connect server for the whole run, or the one `RECOUNT_SPARK_REMOTE` names.
import type { TestProject } from 'vitest/node';
import { startSparkConnect, type SparkServer } from './sparkServer.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `sc://host:port` of the Spark Connect server the spark tests use. */
    sparkRemote: string;
    /** The driver's web UI (REST API under /api/v1) of the server the setup started; '' for an existing server. */
    sparkUiUrl: string;
  }
}

let server: SparkServer | undefined;

/** Starts the server (installing pyspark into the cache on a fresh machine) and hands its address to the tests. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const existing = process.env.RECOUNT_SPARK_REMOTE;
  if (existing) {
    project.provide('sparkRemote', existing);
    project.provide('sparkUiUrl', process.env.RECOUNT_SPARK_UI ?? '');
    return async () => {};
  }
  const t0 = Date.now();
  server = await startSparkConnect({
    ownerPid: process.pid,
    // Few shuffle partitions: the test data is tiny and 200 empty tasks per shuffle cost seconds on 2 cores.
    conf: { 'spark.sql.shuffle.partitions': '4' },
  });
  console.log(
    `spark: Spark Connect server at ${server.remote} (pid ${server.pid}) up in ${server.startSeconds.toFixed(1)} s, ${((Date.now() - t0) / 1000).toFixed(1)} s with install; log ${server.logFile}`,
  );
  project.provide('sparkRemote', server.remote);
  project.provide('sparkUiUrl', server.uiUrl);
  return async () => {
    await server?.stop();
  };
}
