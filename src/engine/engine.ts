/** A column of a query result: name and engine type (e.g. `BIGINT`, `DOUBLE`, `VARCHAR`). */
export interface Column {
  readonly name: string;
  readonly type: string;
}

/** Resources one attempt may use. */
export interface EngineOptions {
  /** The engine's memory limit in bytes: past it, operators spill to `spillDir` instead of failing. */
  readonly memoryBytes: number;
  readonly threads: number;
  readonly spillDir: string;
  /** Session settings of this attempt over the engine's own (Spark's smaller tasks after out-of-memory attempts). */
  readonly conf?: Readonly<Record<string, string>>;
  /**
   * The attempt the session serves: Spark names its Spark Connect session after it, so recovery can interrupt
   * the jobs of an attempt whose process died (src/engine/deadAttempts.ts).
   */
  readonly attemptId?: string;
}

/** One staged output file, named by the bucket it holds (`part-00003.parquet` holds bucket 3). */
export interface StagedFile {
  readonly name: string;
  readonly rows: number;
}

/** What to write: the query's result in the deterministic layout (I3). */
export interface LayoutRequest {
  readonly sql: string;
  /** Safe key columns (never a float): the bucket is the engine's stable hash of them mod the file count. */
  readonly keys: readonly string[];
  /** A fixed count, or `auto` (about 128 MB a file, sticky across reruns). */
  readonly files: number | 'auto';
  /** The attempt's own staging folder, on storage both recount and the engine see. */
  readonly dir: string;
  /** The file count of the published version, which `auto` keeps unless the size moved far. */
  readonly previousFileCount?: number;
  /** Bytes per file for `auto` (tests use a small one). */
  readonly targetFileBytes?: number;
  /** Makes the file names unique to this version (versionTag of the attempt): `part-00003-<tag>.parquet`. */
  readonly tag?: string;
  /** The inputs are small (under ONE_THREAD_INPUT_BYTES in all): the result most likely is too. */
  readonly smallInput?: boolean;
}

/** The staged layout: one file per bucket 0..fileCount-1 (an empty bucket has an empty file with the schema). */
export interface WrittenLayout {
  readonly files: StagedFile[];
  readonly fileCount: number;
  /**
   * Each file's rows were read from the file's own metadata (its footer) after the write, not reported by the
   * writer: the row_count check then takes them as the files' metadata count instead of counting it again.
   */
  readonly rowsFromFileMetadata?: boolean;
}

/** Partition values an analyzer's SQL may read (`getvariable('partition_start')` on DuckDB). */
export interface PartitionVariables {
  readonly id: string;
  readonly start: Date;
  readonly end: Date;
}

/**
 * How an engine spells the SQL recount generates around an analyzer's query (identifiers, literals, the
 * layout's bucket), so checks and diffs are written once for every engine.
 */
export interface SqlDialect {
  /** Quote an identifier. */
  ident(name: string): string;
  /** Quote a string literal. */
  lit(value: string): string;
  /** The output file index a row belongs in: the engine's own stable hash of `keys`, mod `files`, as an integer in [0, files). */
  bucketOf(keys: readonly string[], files: number): string;
  /** The keys as one value that compares lexicographically, for the key-order check. */
  keyTuple(keys: readonly string[]): string;
  /**
   * A relation over staged output files: every column, plus `__file` (the file's base name), `__file_index` (the
   * number in `part-NNNNN.parquet`) and `__row` (the row's position in its file, from 0).
   */
  stagedRows(paths: readonly string[]): string;
  /** A scalar query: the rows the files' own metadata records (read without decoding the data). */
  fileRowsSql(paths: readonly string[]): string;
}

/** One isolated engine session for one attempt; closed when the attempt ends. */
export interface EngineSession {
  /** Engine name (`duckdb`, `spark`), recorded in every version's provenance. */
  readonly engine: string;
  /** Engine version, recorded in every version's provenance. */
  readonly version: string;
  /** The layout rule this engine writes (`duckdb-hash(keys) % files`), recorded in the manifest: a change is a layout change. */
  readonly layoutScheme: string;
  readonly dialect: SqlDialect;
  /**
   * True when independent statements may be sent at once, each run by the engine on its own (Spark Connect runs every
   * operation of a session on a thread of its own): a remote engine then costs one round trip for several of them.
   */
  readonly concurrentStatements?: boolean;
  exec(sql: string): Promise<void>;
  /** Run a query and return its rows as JSON-safe objects (big integers as strings). */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** The columns a query would return, without running it. */
  describe(sql: string): Promise<Column[]>;
  /** The columns of one Parquet file, from its footer; throws when the file is not readable Parquet. */
  parquetSchema(path: string): Promise<Column[]>;
  /** Decode a Parquet file in full (to name a corrupt data page the footer does not show); throws when it cannot. */
  readFully(path: string): Promise<void>;
  /**
   * Create or replace view `name` over exactly these Parquet files (no Hive partition columns). `columns`, when the
   * caller knows them (read from a footer, or the query that wrote the files), spare an engine that would infer
   * them a pass over the files (on Spark a job of its own).
   */
  createParquetView(name: string, paths: readonly string[], columns?: readonly Column[]): Promise<void>;
  /** Make the partition's id, start and end readable to the analyzer's SQL. */
  setPartitionVariables(vars: PartitionVariables): Promise<void>;
  /** Run `sql` and write its result into `dir` in the deterministic layout: bucket by key hash, sorted by key within a file. */
  writeLayout(request: LayoutRequest): Promise<WrittenLayout>;
  /**
   * A session whose `query` parses SQL with DuckDB's `json_serialize_sql`, to read an analyzer's keys from its GROUP BY:
   * DuckDB's own session, or a small local one beside another engine (the syntax of a GROUP BY is the same).
   */
  sqlParser(): Promise<EngineSession>;
  /** Bytes the engine holds in memory now, by its own accounting, and bytes it spilled to disk: one read of both. */
  usage(): Promise<EngineUsage>;
  /** Memory of the engine's executors outside this process (Spark), as last sampled by `usage`; none for an embedded engine. */
  executorMemory?(): readonly ExecutorMemorySample[];
  close(): void;
}

/** What an engine holds now: memory by its own accounting, and spill on disk. */
export interface EngineUsage {
  readonly memoryBytes: number;
  readonly spillBytes: number;
}

/** One remote executor's memory (Spark's REST API): storage in use, peak execution memory, and its max. */
export interface ExecutorMemorySample {
  readonly executor: string;
  readonly onHeapUsedBytes: number;
  readonly offHeapUsedBytes: number;
  readonly peakExecutionBytes: number;
  readonly maxBytes: number;
}

/** A SQL engine recount runs analyzers on: DuckDB embedded, or Spark through Spark Connect. */
export interface Engine {
  readonly name: string;
  open(options: EngineOptions): Promise<EngineSession>;
}
