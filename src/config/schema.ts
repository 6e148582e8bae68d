import { z } from 'zod';

const grain = z.enum(['hour', 'day']);
const size = z.union([z.string().min(1), z.number().positive()]);
const age = z.union([
  z.string().regex(/^\s*\d+(\.\d+)?\s*(ms|s|m|h|d|w)\s*$/, "write an age such as '7d', '12h', '30m' or '90s'"),
  z.number().nonnegative(),
]);
const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]*$/, 'use lower-case letters, digits and _ (it becomes a SQL view and a folder name)');

/**
 * Where an analyzer's SQL runs: `'duckdb'` (embedded, the default) or `{ spark: { remote: 'sc://host:15002', conf } }`,
 * a Spark cluster through Spark Connect (`RECOUNT_SPARK_REMOTE` overrides the remote).
 */
export const engineSchema = z.union([
  z.literal('duckdb'),
  z
    .object({
      spark: z
        .object({
          remote: z.string().regex(/^sc:\/\//, "write a Spark Connect string such as 'sc://host:15002'"),
          conf: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
        })
        .strict(),
    })
    .strict(),
]);

/** A custom check: a SQL query over the staged `output` view (and the inputs) that returns failing rows. */
export const checkSchema = z
  .object({
    name: identifier,
    sql: z.string().min(1),
    /** `error` blocks the publish; `warn` is recorded and shown but does not block. */
    severity: z.enum(['error', 'warn']).default('error'),
    description: z.string().optional(),
  })
  .strict();

/** The fields of `defineAnalyzer({...})`. */
export const analyzerSchema = z
  .object({
    name: identifier,
    description: z.string().optional(),
    inputs: z.array(identifier).min(1, 'an analyzer reads at least one input dataset'),
    grain,
    sql: z.string().min(1, 'the SQL is empty'),
    keys: z.array(z.string().min(1)).min(1).optional(),
    files: z.union([z.number().int().min(1).max(4096), z.literal('auto')]).optional(),
    checks: z.array(checkSchema).default([]),
    memory: size.optional(),
    threads: z.number().int().min(1).max(256).optional(),
    /** Run this analyzer on another engine than the project's (a switch is a layout change: every partition reruns). */
    engine: engineSchema.optional(),
    keepVersions: z.number().int().min(1).max(1000).optional(),
    /** Load every published version into this warehouse table (see the Warehouse section of the README). */
    load: z
      .object({
        table: z
          .string()
          .regex(
            /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/,
            'use lower-case letters, digits and _, optionally schema.table',
          ),
      })
      .strict()
      .optional(),
    /** First partition `recount serve` considers (e.g. '2023-10-12T00'), so history is not backfilled by surprise. */
    start: z.string().optional(),
    /** Cron expression: `recount serve` also queues the newest ready partition on this schedule. */
    schedule: z.string().optional(),
    retries: z
      .object({
        /** Most attempts of one partition, the first included. */
        max: z.number().int().min(1).max(100).default(3),
        backoffMs: z.number().int().min(0).default(5_000),
        maxBackoffMs: z.number().int().min(0).default(300_000),
      })
      .strict()
      .optional(),
    /** Most attempts of this analyzer running at once. */
    concurrency: z.number().int().min(1).max(64).optional(),
    /** Which queued partitions run first. */
    order: z.enum(['oldest', 'newest']).optional(),
    /** Raise a lag alert when published output trails ready input by more than this many seconds (default: alerts.lagSeconds). */
    lagAlertSeconds: z.number().int().min(1).optional(),
  })
  .strict();

/** A source dataset: Parquet under a root, Hive-partitioned by time. */
export const datasetSchema = z
  .object({
    root: z.string().min(1),
    grain,
    description: z.string().optional(),
  })
  .strict();

/** The fields of `defineConfig({...})`. */
export const configSchema = z
  .object({
    datasets: z.record(identifier, datasetSchema),
    output: z.string().min(1).default('data/out'),
    analyzers: z.string().min(1).default('analyzers'),
    state: z.string().min(1).default('sqlite:.recount/state.db'),
    /** Where `load` targets live: duckdb:<file> (embedded) or postgres://user:password@host:port/db. */
    warehouse: z.string().min(1).default('duckdb:.recount/warehouse.duckdb'),
    spill: z.string().min(1).default('.recount/spill'),
    /** The engine analyzers run on unless they name their own. */
    engine: engineSchema.default('duckdb'),
    keepVersions: z.number().int().min(1).max(1000).default(3),
    defaults: z
      .object({
        memory: size.default('2GB'),
        threads: z.number().int().min(1).max(256).default(2),
        files: z.union([z.number().int().min(1).max(4096), z.literal('auto')]).default('auto'),
      })
      .strict()
      .prefault({}),
    serve: z
      .object({
        minWorkers: z.number().int().min(0).max(64).default(1),
        maxWorkers: z.number().int().min(1).max(64).default(2),
        /** Periodic rescan of every dataset: the source of truth behind file watching. */
        scanIntervalMs: z.number().int().min(100).default(30_000),
        /** Partitions older than this (before `start`-less analyzers' first run) are not considered. */
        lookbackHours: z.number().int().min(1).default(48),
        /** A worker process is replaced after this many attempts. */
        workerMaxAttempts: z.number().int().min(1).default(200),
        /** A worker whose idle RSS grows past this is replaced. */
        workerMaxIdleRss: size.default('512MB'),
        postmortemDir: z.string().default('.recount/postmortem'),
        /** Warehouse loads owed (a failed or killed load, or a worker killed between publish and load) are retried with this backoff, until they load. */
        loadRetries: z
          .object({
            backoffMs: z.number().int().min(0).default(5_000),
            maxBackoffMs: z.number().int().min(0).default(600_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** Retention for `recount gc` (versions beyond keepVersions per partition go too; never the published or loaded one). */
    gc: z
      .object({
        /** Shadow namespaces unused for longer than this are removed: '7d', '12h', '30m' or milliseconds. */
        shadowMaxAge: age.default('7d'),
        /** Audit runs kept with --keep, after this long. */
        auditMaxAge: age.default('1d'),
        /** Staging folders of attempts that are not running (or of other machines' attempts) older than this. */
        stagingMaxAge: age.default('1d'),
      })
      .strict()
      .prefault({}),
    /** Where alerts go besides the log, and when memory alerts fire. */
    alerts: z
      .object({
        /** JSON POST to each URL (retried with backoff in the background; a dead receiver never slows a run). */
        webhooks: z
          .array(
            z.union([
              z.url({ protocol: /^https?$/ }),
              z
                .object({ url: z.url({ protocol: /^https?$/ }), headers: z.record(z.string(), z.string()).optional() })
                .strict(),
            ]),
          )
          .default([]),
        /** Share of an attempt's memory budget that raises a warning, and a critical alert. */
        memoryWarn: z.number().gt(0).lt(1).default(0.8),
        memoryCritical: z.number().gt(0).lte(1).default(0.9),
        /** Lag threshold for analyzers without their own lagAlertSeconds (none by default). */
        lagSeconds: z.number().int().min(1).optional(),
        /** An alert still open is sent again at most this often. */
        repeatMinutes: z.number().min(0).default(60),
        /** Most webhook notifications per minute, all alerts together; the rest are kept in the store and logged. */
        maxPerMinute: z.number().int().min(1).default(30),
      })
      .strict()
      .refine((a) => a.memoryWarn < a.memoryCritical, {
        message: 'memoryWarn must be below memoryCritical',
        path: ['memoryWarn'],
      })
      .prefault({}),
  })
  .strict();

/** What a user writes in `defineAnalyzer`. */
export type AnalyzerInput = z.input<typeof analyzerSchema>;
/** What a user writes in `defineConfig`. */
export type ConfigInput = z.input<typeof configSchema>;
/** A validated analyzer definition. */
export type AnalyzerDefinition = z.output<typeof analyzerSchema>;
/** A validated project configuration. */
export type ConfigDefinition = z.output<typeof configSchema>;
/** A custom check. */
export type CheckDefinition = z.output<typeof checkSchema>;
/** An engine as configured. */
export type EngineDefinition = z.output<typeof engineSchema>;
