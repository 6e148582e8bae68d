import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { RowHashSink } from '../checksum.ts';

/**
 * Stream the (key hash, value hash) pairs of `selectSql` (columns k and v, bigints) out of PostgreSQL with
 * `COPY … TO STDOUT` and hand each row to `sink`: a plain query would buffer the whole result in the client
 * (the monitor's diff of a 1.5 M-row partition reached 1.27 GB that way). The server splits each hash into its
 * int32 halves, so the client parses small decimal numbers, never a 64-bit one.
 */
export async function copyRowHashesOut(client: pg.Client, selectSql: string, sink: RowHashSink): Promise<void> {
  const stream = client.query(
    copyTo(
      `COPY (SELECT (k >> 32)::int, (k & 4294967295)::bigint, (v >> 32)::int, (v & 4294967295)::bigint FROM (${selectSql}) s) TO STDOUT`,
    ),
  );
  let rest = '';
  const line = (text: string) => {
    const t1 = text.indexOf('\t');
    const t2 = text.indexOf('\t', t1 + 1);
    const t3 = text.indexOf('\t', t2 + 1);
    sink(
      Number(text.slice(0, t1)),
      Number(text.slice(t1 + 1, t2)),
      Number(text.slice(t2 + 1, t3)),
      Number(text.slice(t3 + 1)),
    );
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const text = rest + chunk.toString('latin1');
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      line(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest) line(rest);
}
