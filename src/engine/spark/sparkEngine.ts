import { sparkUiOf, UI_CONF_KEYS } from './sparkUi.ts';
import { utcWallTime } from '../utcWallTime.ts';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type {
  Column,
  Engine,
  EngineOptions,
  EngineSession,
  EngineUsage,
  LayoutRequest,
  PartitionVariables,
  SqlDialect,
  WrittenLayout,
} from '../engine.ts';
import { DuckDBEngine } from '../duckdb/duckdbEngine.ts';
import { SPARK_LAYOUT_SCHEME } from '../../layout/schemes.ts';
import {
  commandPlan,
  createOrReplaceTempView,
  readParquet,
  sql,
  sqlCommand,
  tableRows,
  parseRemote,
  SparkConnectClient,
  withColumns,
} from './connect/index.ts';
import { attemptSessionId } from './attemptSession.ts';
import { sparkDialect, sparkIdent, sparkLit, sparkSchemaDdl, STAGED_ROW_COLUMNS } from './sparkDialect.ts';
import { writeSparkLayout } from './sparkLayout.ts';
import { footerRows } from './footerRows.ts';
import { READ_BACK_CONF_KEYS, readBackConf } from './readBackConf.ts';
import { type ExecutorSample, sampleExecutorMemory, type SparkUi } from './executorMemory.ts';

/** Where a Spark engine runs: a Spark Connect remote (`sc://host:port/;token=…`) and session settings. */
export interface SparkEngineOptions {
  readonly remote: string;
  readonly conf?: Readonly<Record<string, string>>;
}

/**
 * Settings every recount session sets: timestamps in UTC (as partition ids are), never dynamic partition
 * overwrite (recount writes into a private folder and publishes it itself).
 */
const SESSION_CONF: Record<string, string> = {
  'spark.sql.session.timeZone': 'UTC',
  'spark.sql.sources.partitionOverwriteMode': 'static',
  // One file per write task: a bucket is one file.
  'spark.sql.files.maxRecordsPerFile': '0',
};

/** A Spark SQL timestamp literal of a UTC instant. */
function timestampLit(d: Date): string {
  return `TIMESTAMP ${sparkLit(utcWallTime(d))}`;
}

/** The driver's host as a URL host (IPv6 in brackets): the Spark Connect server runs in the driver. */
class SparkSession implements EngineSession {
  readonly engine = 'spark';
  readonly layoutScheme = SPARK_LAYOUT_SCHEME;
  readonly concurrentStatements = true;
  /**
   * Spark's dialect, whose staged rows come from the views over files of known columns (createParquetView) when
   * there are some: Spark then infers no schema, which costs a job per relation.
   */
  readonly dialect: SqlDialect = {
    ...sparkDialect,
    stagedRows: (paths) => {
      const view = this.rowViews.get(paths.join('\n'));
      return view ? `SELECT * FROM ${view}` : sparkDialect.stagedRows(paths);
    },
    fileRowsSql: (paths) => {
      const view = this.rowViews.get(paths.join('\n'));
      return view ? `SELECT count(*) FROM ${view}` : sparkDialect.fileRowsSql(paths);
    },
  };
  /** Views over exactly these files (by their paths) with the stagedRows columns, made with a known schema. */
  private readonly rowViews = new Map<string, string>();
  private sampledAt = 0;
  private lastMemory = 0;
  private lastExecutors: readonly ExecutorSample[] = [];
  private closed = false;

  constructor(
    readonly client: SparkConnectClient,
    readonly version: string,
    private readonly ui: SparkUi | undefined,
    /** A small local DuckDB that reads the GROUP BY of the analyzer's SQL and the staged files' footers; no data goes through it. */
    private readonly parser: Promise<EngineSession>,
  ) {}

  async exec(text: string): Promise<void> {
    await this.client.execute(commandPlan(sqlCommand(text)));
  }

  async query<T = Record<string, unknown>>(text: string): Promise<T[]> {
    return tableRows<T>(await this.client.collect(sql(text)));
  }

  async describe(text: string): Promise<Column[]> {
    return (await this.client.schema(sql(text))).map((f) => ({ name: f.name, type: f.type }));
  }

  async parquetSchema(path: string): Promise<Column[]> {
    return (await this.client.schema(readParquet([path]))).map((f) => ({ name: f.name, type: f.type }));
  }

  async readFully(path: string): Promise<void> {
    await this.query(`SELECT max(hash(*)) AS h FROM parquet.${sparkIdent(path)}`);
  }

  async createParquetView(name: string, paths: readonly string[], columns?: readonly Column[]): Promise<void> {
    const schema = sparkSchemaDdl(columns);
    const read = readParquet([...paths], schema ? { schema } : {});
    const view = this.client.execute(commandPlan(createOrReplaceTempView(read, name)));
    if (!schema) return void (await view);
    // Beside it, the same files' rows with the file, its index and each row's place (the checks' staged rows).
    const rows = sparkIdent(`__recount_rows_${name}`);
    await Promise.all([
      view,
      this.client.execute(commandPlan(createOrReplaceTempView(withColumns(read, STAGED_ROW_COLUMNS), rows))),
    ]);
    this.rowViews.set(paths.join('\n'), rows);
  }

  async setPartitionVariables(vars: PartitionVariables): Promise<void> {
    // Session variables (Spark 4): the analyzer's SQL reads them by name, e.g. `WHERE ts >= partition_start`.
    // Declared at once (Spark's variable manager is thread-safe): one round trip, not three.
    await Promise.all([
      this.exec(`DECLARE OR REPLACE VARIABLE partition_id STRING DEFAULT ${sparkLit(vars.id)}`),
      this.exec(`DECLARE OR REPLACE VARIABLE partition_start TIMESTAMP DEFAULT ${timestampLit(vars.start)}`),
      this.exec(`DECLARE OR REPLACE VARIABLE partition_end TIMESTAMP DEFAULT ${timestampLit(vars.end)}`),
    ]);
  }

  async writeLayout(request: LayoutRequest): Promise<WrittenLayout> {
    // Read while the write runs: the settings the checks' read-back is sized by.
    const conf = this.client.getConf(READ_BACK_CONF_KEYS);
    conf.catch(() => undefined);
    const written = await writeSparkLayout(this.client, request, async (paths) =>
      footerRows(await this.sqlParser(), paths),
    );
    // What runs after the write (the checks) reads the staged output, already cut into files of a sensible size.
    const bytes = written.files.reduce((s, f) => s + statSync(join(request.dir, f.name)).size, 0);
    await this.client.setConf(readBackConf(bytes, written.fileCount, await conf));
    return written;
  }

  sqlParser(): Promise<EngineSession> {
    return this.parser;
  }

  async usage(): Promise<EngineUsage> {
    // Spark spills on its executors, which the REST API does not report as a figure recount could compare.
    return { memoryBytes: await this.memoryBytes(), spillBytes: 0 };
  }

  private async memoryBytes(): Promise<number> {
    // The executors' memory from the driver's REST API: storage in use plus the peak execution memory (the API
    // has no current execution figure). Nothing of the job's memory is in this process.
    // At most one request a second: the sampler asks every 100 ms.
    if (this.ui && !this.closed && Date.now() - this.sampledAt >= 1_000) {
      this.sampledAt = Date.now();
      const m = await sampleExecutorMemory(this.ui);
      if (m) {
        this.lastMemory = m.usedOnHeapBytes + m.usedOffHeapBytes + m.peakExecutionBytes;
        this.lastExecutors = m.perExecutor;
      }
    }
    return this.lastMemory;
  }

  executorMemory(): readonly ExecutorSample[] {
    return this.lastExecutors;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.parser.then((p) => p.close()).catch(() => undefined);
    void this.client.close().catch(() => undefined);
  }
}

/**
 * Apache Spark through Spark Connect: recount orchestrates and commits, Spark computes. One Spark Connect
 * session per attempt (its temp views and variables are the attempt's own); output is written by Spark into the
 * attempt's staging folder, which must be on storage both sides see (the same path on the driver and executors).
 */
export class SparkEngine implements Engine {
  readonly name = 'spark';

  constructor(private readonly options: SparkEngineOptions) {}

  async open(options: EngineOptions): Promise<EngineSession> {
    mkdirSync(options.spillDir, { recursive: true });
    const remote = parseRemote(this.options.remote);
    // Named after the attempt, unless the remote fixes a session: recovery interrupts a dead attempt's jobs by it.
    if (options.attemptId && !remote.sessionId) remote.sessionId = attemptSessionId(options.attemptId);
    const client = SparkConnectClient.connect(remote);
    // Every attempt needs the local DuckDB (keys, footers): it opens while the Spark round trips run.
    const parser = new DuckDBEngine().open({ memoryBytes: 64_000_000, threads: 1, spillDir: options.spillDir });
    parser.catch(() => undefined);
    try {
      // Three independent calls at once: one round trip instead of three before the attempt's first query.
      const [, version, conf] = await Promise.all([
        client.setConf({ ...SESSION_CONF, ...(this.options.conf ?? {}), ...(options.conf ?? {}) }),
        client.sparkVersion(),
        client.getConf(UI_CONF_KEYS),
      ]);
      return new SparkSession(client, version, sparkUiOf(client.remote.host, conf), parser);
    } catch (err) {
      void parser.then((p) => p.close()).catch(() => undefined);
      await client.close().catch(() => undefined);
      throw err;
    }
  }
}
