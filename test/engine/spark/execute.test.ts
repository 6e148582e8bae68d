import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ExecuteStream,
  SparkConnectClient,
  arrowTable,
  relationPlan,
  sql,
} from '../../../src/engine/spark/connect/index.ts';
import { RecountError } from '../../../src/errors.ts';
import { sparkRemote, sparkUiUrl } from '../../spark/remote.ts';

/** Jobs Spark ran for one Spark Connect operation (the server tags each job with its operation id). */
async function jobsOf(operationId: string): Promise<number | undefined> {
  const ui = sparkUiUrl();
  if (!ui) return undefined;
  const [app] = (await (await fetch(`${ui}/api/v1/applications`)).json()) as { id: string }[];
  const jobs = (await (await fetch(`${ui}/api/v1/applications/${app!.id}/jobs`)).json()) as { jobTags?: string[] }[];
  return jobs.filter((j) => j.jobTags?.some((t) => t.endsWith(`_Operation_${operationId}`))).length;
}

// A query that keeps two cores busy for minutes unless interrupted.
// Long enough never to finish in a test, and no overflow on the way (sum(a.id * b.id) overflowed a long within 1.5 s
// on a quiet machine and failed before the interrupt).
const LONG = 'SELECT sum((a.id % 7) + (b.id % 3)) AS s FROM range(0, 200000000) a CROSS JOIN range(0, 1000) b';

describe('Spark Connect execution', () => {
  let client: SparkConnectClient;
  beforeAll(() => {
    client = SparkConnectClient.connect(sparkRemote());
  });
  afterAll(async () => {
    await client.close();
  });

  it('interrupts a long query by its operation id: it fails with ENGINE_INTERRUPTED', async () => {
    const operationId = randomUUID();
    const running = client.collect(sql(LONG), { operationId });
    const failed = running.then(
      () => undefined,
      (e: unknown) => e,
    );
    // Interrupt once Spark runs it (the first responses come back when the job has started).
    let interrupted: string[] = [];
    for (let i = 0; i < 100 && interrupted.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      interrupted = await client.interrupt({ operationId });
    }
    expect(interrupted).toEqual([operationId]);
    const err = (await failed) as RecountError;
    expect(err).toBeInstanceOf(RecountError);
    expect(err.code).toBe('ENGINE_INTERRUPTED');
    expect(err.details?.operationId).toBe(operationId);
    // The session still works afterwards.
    expect((await client.collect(sql('SELECT 2 AS two'))).numRows).toBe(1);
  });

  it('interrupts through an AbortSignal, and interrupt("all") stops every operation of the session', async () => {
    const ac = new AbortController();
    const a = client.collect(sql(LONG), { signal: ac.signal }).catch((e: unknown) => e);
    setTimeout(() => ac.abort(), 1500);
    const errA = (await a) as RecountError;
    expect(errA.code, errA.message).toBe('ENGINE_INTERRUPTED');

    const b = client.collect(sql(LONG), { tags: ['recount-test'] }).catch((e: unknown) => e);
    let ids: string[] = [];
    for (let i = 0; i < 100 && ids.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      ids = await client.interrupt('all');
    }
    expect(ids.length).toBe(1);
    expect(((await b) as RecountError).code).toBe('ENGINE_INTERRUPTED');
  });

  it('reattaches after a dropped stream with the same operation id: every row once, the job run once', async () => {
    // Many Arrow batches (Spark sends at most 10,000 rows a batch), so the stream is cut mid-way.
    const query = sql("SELECT id, repeat('x', 64) AS pad FROM range(0, 200000, 1, 2)");
    const stream = new ExecuteStream(client, relationPlan(query), {
      onResponse: (res, s) => {
        if (res.responseType.case === 'arrowBatch' && s.reattaches < 2) s.dropStream();
      },
    });
    const batches: Uint8Array[] = [];
    const responseIds = new Set<string>();
    for await (const res of stream) {
      expect(responseIds.has(res.responseId), `response ${res.responseId} seen twice`).toBe(false);
      responseIds.add(res.responseId);
      if (res.responseType.case === 'arrowBatch') batches.push(res.responseType.value.data);
    }
    expect(stream.reattaches).toBe(2);
    const t = arrowTable(batches);
    expect(t.numRows).toBe(200000);
    const ids = t.getChild('id')!.toArray() as BigInt64Array;
    expect(new Set(Array.from(ids, Number)).size).toBe(200000);
    const jobs = await jobsOf(stream.operationId);
    if (jobs !== undefined) expect(jobs).toBe(1);
  });

  it('executes a plan once per operation id: the server refuses the same id for a second plan', async () => {
    const operationId = randomUUID();
    await client.execute(relationPlan(sql('SELECT 1')), { operationId });
    const err = await client.execute(relationPlan(sql('SELECT 1')), { operationId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecountError);
    expect((err as RecountError).code).toBe('ENGINE_FAILED');
    expect((err as RecountError).details?.errorClass).toMatch(/^INVALID_HANDLE\.OPERATION_(ABANDONED|ALREADY_EXISTS)$/);
    expect((err as RecountError).hint).toMatch(/new operation id/);
  });
});
