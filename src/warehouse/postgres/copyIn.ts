import { spawnSync } from 'node:child_process';
import { closeSync, constants, createReadStream, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { lit } from '../../engine/sql.ts';
import { faultPoint } from '../../fault.ts';
import { loadTempDir } from '../scratchDuckdb.ts';

const BATCH_BYTES = 1 << 20;

// Gathers the pipe's 64 kB reads into 1 MB batches before they become CopyData messages: per message, the client
// and the server pay a fixed cost that made COPY a third slower with 64 kB ones. The crash tests'
// 'during-load-copy' fault fires once rows are on their way to the server.
function batcher(): Transform {
  let parts: Buffer[] = [];
  let size = 0;
  let sent = 0;
  const fault = () => {
    if (++sent === 2) faultPoint('during-load-copy');
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      parts.push(chunk);
      size += chunk.length;
      if (size < BATCH_BYTES) return cb();
      const batch = Buffer.concat(parts, size);
      parts = [];
      size = 0;
      cb(null, batch);
      fault();
    },
    flush(cb) {
      if (size) this.push(Buffer.concat(parts, size));
      if (sent < 2) faultPoint('during-load-copy');
      cb();
    },
  });
}

function makeFifo(path: string): boolean {
  const r = spawnSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' });
  return r.status === 0;
}

/**
 * Stream the rows of a DuckDB query into PostgreSQL's `COPY … FROM STDIN (FORMAT csv)` and return the rows
 * the server says it copied. DuckDB writes CSV (on its own threads) into a named pipe that this process
 * reads and forwards to the server as it comes, so reading Parquet, writing CSV and PostgreSQL's COPY run
 * at once in bounded memory. Where mkfifo is missing, DuckDB writes a temporary file that is then streamed.
 * Rows travel as batches of bytes in one COPY: never one INSERT per row.
 */
export async function copyQueryIn(
  client: pg.Client,
  copySql: string,
  duck: DuckDBConnection,
  selectSql: string,
): Promise<number> {
  const dir = loadTempDir('copy');
  const path = join(dir, 'rows.csv');
  const duckCopy = (target: string) =>
    `COPY (${selectSql}) TO ${lit(target)} (FORMAT csv, HEADER false, USE_TMP_FILE false)`;
  try {
    const copy = client.query(copyFrom(copySql));
    if (!makeFifo(path)) {
      try {
        await duck.run(duckCopy(path));
      } catch (err) {
        copy.destroy(err as Error);
        await new Promise((r) => copy.once('close', r));
        throw err;
      }
      await pipeline(createReadStream(path, { highWaterMark: BATCH_BYTES }), batcher(), copy);
      return copy.rowCount;
    }
    // Our own write end keeps the pipe open until DuckDB is done (or failed), so the reader never sees an
    // early end of file and DuckDB never blocks opening it; closing it ends the stream.
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const keepOpen = openSync(path, constants.O_WRONLY);
    const reader = new Socket({ fd: readFd, readable: true, writable: false });
    const readerClosed = new Promise((r) => reader.once('close', r));
    const tap = batcher();
    reader.pipe(tap).pipe(copy);
    let failure: { error: unknown } | undefined;
    const copied = new Promise<void>((resolve, reject) => {
      copy.once('finish', resolve);
      copy.once('error', reject);
      tap.once('error', reject);
      reader.once('error', reject);
    });
    const writing = duck.run(duckCopy(path)).finally(() => closeSync(keepOpen));
    writing.catch((error) => {
      // DuckDB failed: abort the COPY (CopyFail) rather than end it, so no partial rows count; drain the pipe.
      failure ??= { error };
      tap.unpipe(copy);
      copy.destroy(error as Error);
      reader.resume();
    });
    copied.catch((error) => {
      // The server refused the data: stop DuckDB and drain what it still writes, so it can finish and close.
      failure ??= { error };
      reader.unpipe(tap);
      reader.resume();
      duck.interrupt();
    });
    await Promise.allSettled([writing, copied]);
    await readerClosed;
    if (failure) throw failure.error;
    return copy.rowCount;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
