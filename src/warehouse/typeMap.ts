import { RecountError } from '../errors.ts';
import { ident } from '../engine/sql.ts';

/**
 * How a DuckDB output column becomes a warehouse column. The DuckDB warehouse keeps DuckDB's own type
 * (ENUM becomes VARCHAR, so a new enum value never fails a load). PostgreSQL gets a lossless equivalent:
 *
 * | DuckDB (Parquet)                              | PostgreSQL          |
 * | --------------------------------------------- | ------------------- |
 * | BOOLEAN                                       | boolean             |
 * | TINYINT, SMALLINT, UTINYINT                   | smallint            |
 * | INTEGER, USMALLINT                            | integer             |
 * | BIGINT, UINTEGER                              | bigint              |
 * | UBIGINT, HUGEINT, UHUGEINT                    | numeric(20/39, 0)   |
 * | DECIMAL(p,s)                                  | numeric(p,s)        |
 * | FLOAT / DOUBLE                                | real / double precision |
 * | VARCHAR, ENUM                                 | text                |
 * | JSON                                          | jsonb               |
 * | DATE / TIME / INTERVAL / UUID / BLOB          | date / time / interval / uuid / bytea |
 * | TIMESTAMP, TIMESTAMP_S, TIMESTAMP_MS          | timestamp           |
 * | TIMESTAMP WITH TIME ZONE                      | timestamptz         |
 * | LIST, STRUCT, MAP, ARRAY, UNION               | jsonb (to_json)     |
 *
 * TIMESTAMP_NS, TIME WITH TIME ZONE, BIT and BIGNUM have no lossless PostgreSQL type: a load into
 * PostgreSQL names the column and asks for a cast in the analyzer's SQL.
 */
export interface ColumnMapping {
  /** The DuckDB type as the manifest records it. */
  readonly source: string;
  /** The DuckDB warehouse column type. */
  readonly duckdb: string;
  /** The PostgreSQL column type, or undefined when there is none without loss. */
  readonly postgres: string | undefined;
  /** DuckDB expression over the Parquet column giving the text PostgreSQL's COPY (csv) reads back exactly. */
  readonly csv: (column: string) => string;
  /**
   * How a column of this type enters the checksums, or undefined for types with no hash both engines compute
   * exactly alike (JSON, INTERVAL, nested types): those take part in neither the key nor the value checksum.
   */
  readonly hash: ColumnHash | undefined;
}

/**
 * One column's part of a checksum: PostgreSQL hashes it natively with `pg`; on the DuckDB side the `duck`
 * expression yields a folded 32-bit integer (`u32`), a DOUBLE (`f64`) or bytes, hashed in JavaScript the same way.
 */
export interface ColumnHash {
  /** Which hash (integer, text, float…): part of a checksum plan's identity. */
  readonly name: string;
  readonly kind: 'u32' | 'f64' | 'bytes';
  readonly duck: (column: string) => string;
  readonly pg: (column: string, seed: number) => string;
}

const US_2000 = '946684800000000';

/** Fold a BIGINT expression as PostgreSQL's hashint8 does (low word XOR high word, complemented when negative). */
function fold(x: string): string {
  return `xor((${x}) & 4294967295, CASE WHEN (${x}) >= 0 THEN ((${x}) >> 32) & 4294967295 ELSE (~((${x}) >> 32)) & 4294967295 END)::UINTEGER`;
}

const intHash = (
  name: string,
  toBigint: (c: string) => string,
  pg: (c: string, seed: number) => string,
): ColumnHash => ({ name, kind: 'u32', duck: (c) => fold(toBigint(c)), pg });
const hashes = {
  integer: intHash(
    'integer',
    (c) => `${c}::BIGINT`,
    (c, s) => `hashint8extended(${c}::bigint, ${s})`,
  ),
  boolean: intHash(
    'boolean',
    (c) => `${c}::BIGINT`,
    (c, s) => `hashint8extended(${c}::int::bigint, ${s})`,
  ),
  date: intHash(
    'date',
    (c) => `(${c} - DATE '2000-01-01')::BIGINT`,
    (c, s) => `hashint8extended((${c} - DATE '2000-01-01')::bigint, ${s})`,
  ),
  timestamp: intHash(
    'timestamp',
    (c) => `(epoch_us(${c}::TIMESTAMP) - ${US_2000})`,
    (c, s) => `timestamp_hash_extended(${c}, ${s})`,
  ),
  timestamptz: intHash(
    'timestamptz',
    (c) => `(epoch_us(${c}) - ${US_2000})`,
    (c, s) => `timestamptz_hash_extended(${c}, ${s})`,
  ),
  time: intHash(
    'time',
    (c) => `datediff('microsecond', TIME '00:00:00', ${c})`,
    (c, s) => `time_hash_extended(${c}, ${s})`,
  ),
  text: {
    name: 'text',
    kind: 'bytes',
    duck: (c) => `encode(${c}::VARCHAR)`,
    pg: (c, s) => `hashtextextended(${c}::text, ${s})`,
  } satisfies ColumnHash,
  uuid: {
    name: 'uuid',
    kind: 'bytes',
    duck: (c) => `unhex(replace(${c}::VARCHAR, '-', ''))`,
    pg: (c, s) => `uuid_hash_extended(${c}, ${s})`,
  } satisfies ColumnHash,
  // A REAL widens to float8 exactly, in DuckDB as in PostgreSQL (whose hashfloat4extended widens too).
  float: {
    name: 'float',
    kind: 'f64',
    duck: (c) => `${c}::DOUBLE`,
    pg: (c, s) => `hashfloat8extended(${c}::float8, ${s})`,
  } satisfies ColumnHash,
  // bytea as its lowercase hex text: PostgreSQL's own bytea hash takes an internal argument SQL cannot pass.
  blob: {
    name: 'blob',
    kind: 'bytes',
    duck: (c) => `encode(lower(hex(${c})))`,
    pg: (c, s) => `hashtextextended(encode(${c}, 'hex'), ${s})`,
  } satisfies ColumnHash,
};

const asIs = (c: string) => c;

interface Rule {
  readonly match: RegExp;
  readonly postgres: string | ((m: RegExpExecArray) => string) | undefined;
  readonly duckdb?: string;
  readonly csv?: (c: string) => string;
  readonly hash?: ColumnHash;
}

// First match wins; patterns are anchored to the whole type.
const rules: Rule[] = [
  { match: /^BOOLEAN$/, postgres: 'boolean', hash: hashes.boolean },
  { match: /^(TINYINT|SMALLINT|UTINYINT)$/, postgres: 'smallint', hash: hashes.integer },
  { match: /^(INTEGER|USMALLINT)$/, postgres: 'integer', hash: hashes.integer },
  { match: /^(BIGINT|UINTEGER)$/, postgres: 'bigint', hash: hashes.integer },
  { match: /^UBIGINT$/, postgres: 'numeric(20,0)', hash: hashes.text },
  { match: /^(HUGEINT|UHUGEINT)$/, postgres: 'numeric(39,0)', hash: hashes.text },
  { match: /^DECIMAL\((\d+),\s*(\d+)\)$/, postgres: (m) => `numeric(${m[1]},${m[2]})`, hash: hashes.text },
  { match: /^FLOAT$/, postgres: 'real', hash: hashes.float },
  { match: /^DOUBLE$/, postgres: 'double precision', hash: hashes.float },
  { match: /^VARCHAR$/, postgres: 'text', hash: hashes.text },
  { match: /^ENUM\(.*\)$/s, postgres: 'text', duckdb: 'VARCHAR', csv: (c) => `${c}::VARCHAR`, hash: hashes.text },
  { match: /^JSON$/, postgres: 'jsonb' },
  { match: /^DATE$/, postgres: 'date', hash: hashes.date },
  { match: /^TIME$/, postgres: 'time', hash: hashes.time },
  { match: /^INTERVAL$/, postgres: 'interval' },
  { match: /^UUID$/, postgres: 'uuid', hash: hashes.uuid },
  { match: /^BLOB$/, postgres: 'bytea', csv: (c) => `'\\x' || lower(hex(${c}))`, hash: hashes.blob },
  { match: /^(TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS)$/, postgres: 'timestamp', hash: hashes.timestamp },
  { match: /^TIMESTAMP WITH TIME ZONE$/, postgres: 'timestamptz', hash: hashes.timestamptz },
  { match: /(\[\d*\]$|^STRUCT\(|^MAP\(|^UNION\()/s, postgres: 'jsonb', csv: (c) => `to_json(${c})::VARCHAR` },
  { match: /^(TIMESTAMP_NS|TIME WITH TIME ZONE|TIME_NS|BIT|BIGNUM|VARINT)$/, postgres: undefined },
];

/** The warehouse mapping of one DuckDB column type (unknown types keep their DuckDB type and have no PostgreSQL one). */
export function mapType(type: string): ColumnMapping {
  const t = type.trim();
  for (const r of rules) {
    const m = r.match.exec(t);
    if (!m) continue;
    return {
      source: t,
      duckdb: r.duckdb ?? t,
      postgres: typeof r.postgres === 'function' ? r.postgres(m) : r.postgres,
      csv: r.csv ?? asIs,
      hash: r.hash,
    };
  }
  return { source: t, duckdb: t, postgres: undefined, csv: asIs, hash: undefined };
}

/** The PostgreSQL type of a column, or a WAREHOUSE_SCHEMA error naming the table, column and type with a cast to use. */
export function postgresType(table: string, column: string, type: string): string {
  const m = mapType(type);
  if (m.postgres === undefined) {
    throw new RecountError(
      'WAREHOUSE_SCHEMA',
      `table ${table}: column ${column} has DuckDB type ${type}, which PostgreSQL cannot hold without loss`,
      {
        subject: `${table}.${column}`,
        hint: `cast it in the analyzer's SQL (e.g. ${column}::TIMESTAMP, ${column}::VARCHAR or to_json(${column})); nothing was loaded`,
      },
    );
  }
  return m.postgres;
}

/** Quote a possibly schema-qualified table name (`schema.table`). */
export function quoteTable(name: string): string {
  return name.split('.').map(ident).join('.');
}
