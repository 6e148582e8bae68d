import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ExecuteStream,
  SparkConnectClient,
  arrowTable,
  parseRemote,
  relationPlan,
  sql,
} from '../../../src/engine/spark/connect/index.ts';
import { RecountError } from '../../../src/errors.ts';
import { sparkRemote } from '../../spark/remote.ts';
import { startTcpProxy } from './tcpProxy.ts';

describe('Spark Connect over a connection that fails', () => {
  it('reattaches when the TCP connection is reset mid-result: every row arrives once', async () => {
    const target = parseRemote(sparkRemote());
    const proxy = await startTcpProxy(target.host, target.port);
    const client = SparkConnectClient.connect(`sc://127.0.0.1:${proxy.port}`);
    try {
      let cuts = 0;
      const stream = new ExecuteStream(
        client,
        relationPlan(sql("SELECT id, repeat('y', 64) AS pad FROM range(0, 150000, 1, 2)")),
        {
          onResponse: (res) => {
            if (res.responseType.case === 'arrowBatch' && cuts === 0) {
              cuts++;
              proxy.cut();
            }
          },
        },
      );
      const batches: Uint8Array[] = [];
      for await (const res of stream)
        if (res.responseType.case === 'arrowBatch') batches.push(res.responseType.value.data);
      expect(cuts).toBe(1);
      expect(stream.reattaches).toBeGreaterThanOrEqual(1);
      const ids = arrowTable(batches).getChild('id')!.toArray() as BigInt64Array;
      expect(ids.length).toBe(150000);
      expect(new Set(Array.from(ids, Number)).size).toBe(150000);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('fails with ENGINE_UNREACHABLE naming the endpoint when the server goes away mid-query', async () => {
    const target = parseRemote(sparkRemote());
    const proxy = await startTcpProxy(target.host, target.port);
    const sessionId = randomUUID();
    const client = SparkConnectClient.connect(`sc://127.0.0.1:${proxy.port}/;session_id=${sessionId}`);
    const operationId = randomUUID();
    try {
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      const result = client
        .collect(sql('SELECT sum(a.id * b.id) AS s FROM range(0, 200000000) a CROSS JOIN range(0, 1000) b'), {
          operationId,
          onResponse: () => started(),
        })
        .catch((e: unknown) => e);
      await running;
      await proxy.close(); // as if the server died: connections reset, nothing listens any more
      const err = (await result) as RecountError;
      expect(err).toBeInstanceOf(RecountError);
      expect(err.code).toBe('ENGINE_UNREACHABLE');
      expect(err.subject).toBe(`sc://127.0.0.1:${proxy.port}`);
      expect(err.hint).toContain(`sc://127.0.0.1:${proxy.port}`);
      expect(err.details?.operationId).toBe(operationId);
    } finally {
      await client.close();
      // The query still runs on the real server: stop it from the same session, reached directly.
      const direct = SparkConnectClient.connect(`${sparkRemote()}/;session_id=${sessionId}`);
      await direct.interrupt('all');
      await direct.close();
    }
  });
});
