import { spawnSync } from 'node:child_process';
import { closeSync, constants, createReadStream, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { lit } from '../../engine/sql.ts';
import { faultPoint } from '../../fault.ts';

// Passes bytes through; the crash tests' 'during-load-copy' fault fires once rows are on their way to the server.
function faultTap(): Transform {
  let chunks = 0;
  let fired = false;
  return new Transform({
    transform(chunk, _enc, cb) {
      cb(null, chunk);
      if (++chunks === 2 && !fired) {
        fired = true;
        faultPoint('during-load-copy');
      }
    },
    flush(cb) {
      if (!fired) faultPoint('during-load-copy');
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
export async function copyQueryIn(client: pg.Client, copySql: string, duck: DuckDBConnection, selectSql: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'recount-copy-'));
  const path = join(dir, 'rows.csv');
  const duckCopy = (target: string) => `COPY (${selectSql}) TO ${lit(target)} (FORMAT csv, HEADER false, USE_TMP_FILE false)`;
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
      await pipeline(createReadStream(path), faultTap(), copy);
      return copy.rowCount;
    }
    // Our own write end keeps the pipe open until DuckDB is done (or failed), so the reader never sees an
    // early end of file and DuckDB never blocks opening it; closing it ends the stream.
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const keepOpen = openSync(path, constants.O_WRONLY);
    const reader = new Socket({ fd: readFd, readable: true, writable: false });
    const readerClosed = new Promise((r) => reader.once('close', r));
    const tap = faultTap();
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
