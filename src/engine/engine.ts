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
}

/** One isolated engine session for one attempt; closed when the attempt ends. */
export interface EngineSession {
  /** Engine version, recorded in every version's provenance. */
  readonly version: string;
  exec(sql: string): Promise<void>;
  /** Run a query and return its rows as JSON-safe objects (big integers as strings). */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** The columns a query would return, without running it. */
  describe(sql: string): Promise<Column[]>;
  /** Bytes the engine holds in memory now, by its own accounting. */
  memoryBytes(): Promise<number>;
  /** Bytes spilled to disk now. */
  spillBytes(): Promise<number>;
  close(): void;
}

/** A SQL engine recount runs analyzers on (DuckDB today; the seam a distributed engine would implement). */
export interface Engine {
  readonly name: string;
  open(options: EngineOptions): Promise<EngineSession>;
}
