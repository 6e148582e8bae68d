import { createHash } from 'node:crypto';
import { embeddableQuery } from '../engine/queryText.ts';
import { isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { RecountError } from '../errors.ts';
import type { Dataset } from '../catalog/dataset.ts';
import {
  analyzerSchema,
  configSchema,
  type AnalyzerDefinition,
  type ConfigDefinition,
  type EngineDefinition,
} from './schema.ts';
import { parseSize } from './size.ts';
import { applyEnvOverrides, overridingVariable } from './env.ts';

/** The engine an analyzer runs on, resolved: DuckDB embedded, or Spark at a Spark Connect remote with session settings. */
export type EngineChoice =
  | { readonly name: 'duckdb' }
  | { readonly name: 'spark'; readonly remote: string; readonly conf: Readonly<Record<string, string>> };

/** Resolve a configured engine; `RECOUNT_SPARK_REMOTE` replaces the remote of a Spark engine. */
export function resolveEngine(def: EngineDefinition, env: NodeJS.ProcessEnv = process.env): EngineChoice {
  if (def === 'duckdb') return { name: 'duckdb' };
  const conf = Object.fromEntries(Object.entries(def.spark.conf).map(([k, v]) => [k, String(v)]));
  return { name: 'spark', remote: env.RECOUNT_SPARK_REMOTE || def.spark.remote, conf };
}

/** A validated analyzer with its defaults applied and where it was defined. */
export interface Analyzer extends AnalyzerDefinition {
  /** The engine it runs on: its own `engine`, else the project's. */
  readonly engineChoice: EngineChoice;
  /** The file that defined it (for error messages). */
  readonly file: string;
  readonly memoryBytes: number;
  readonly threadCount: number;
  readonly fileCount: number | 'auto';
  readonly versionsToKeep: number;
  /** sha256 of the SQL text: part of every version's provenance. */
  readonly sqlHash: string;
  /**
   * sha256 of everything that decides how a run goes: SQL, keys, files, checks, memory and threads. A run that
   * failed for good is queued again by `recount serve` once this changes (e.g. more memory after an oom).
   */
  readonly definitionHash: string;
}

/** A loaded, validated project: where things live and what runs. */
export interface Project {
  readonly dir: string;
  readonly configFile: string;
  readonly config: ConfigDefinition;
  /** Absolute output root; each analyzer publishes under `<outputRoot>/<analyzer>/`. */
  readonly outputRoot: string;
  readonly stateUrl: string;
  /** Warehouse URL as configured (duckdb:<file> relative to the project, or postgres://…); may hold a password. */
  readonly warehouseUrl: string;
  readonly spillDir: string;
  /** Source datasets and analyzer outputs, by name. */
  readonly datasets: ReadonlyMap<string, Dataset>;
  readonly analyzers: ReadonlyMap<string, Analyzer>;
}

/** A raw analyzer module value and the file it came from. */
export interface AnalyzerSource {
  readonly file: string;
  readonly value: unknown;
}

// zod's own text for a record key or a union is a bare 'Invalid key in record' / 'Invalid input': say why.
function issueMessage(i: z.core.$ZodIssue): string {
  if (i.code === 'invalid_key') return `invalid name: ${i.issues.map(issueMessage).join('; ')}`;
  if (i.code === 'invalid_union' && i.errors.length > 0)
    return [...new Set(i.errors.flat().map(issueMessage))].join(', or ');
  return i.message;
}

/** Human form of zod issues: `field.path: message` per line. */
export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${issueMessage(i)}`).join('; ');
}

function firstPath(error: z.ZodError): string {
  return error.issues[0]?.path.join('.') ?? '';
}

/** Validate a config and its analyzers and resolve every path against the project folder. */
export function buildProject(
  dir: string,
  configFile: string,
  rawConfig: unknown,
  sources: readonly AnalyzerSource[],
  env: NodeJS.ProcessEnv = process.env,
): Project {
  const config = parseConfig(configFile, rawConfig, env);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const outputRoot = abs(config.output);
  const datasets = new Map<string, Dataset>();
  for (const [name, ds] of Object.entries(config.datasets)) {
    datasets.set(name, { name, root: abs(ds.root), grain: ds.grain });
  }
  const analyzers = buildAnalyzers(configFile, config, sources, datasets, env);
  for (const a of analyzers.values()) {
    datasets.set(a.name, { name: a.name, root: resolve(outputRoot, a.name), grain: a.grain, producer: a.name });
  }
  assertInputsKnown(configFile, analyzers, datasets);
  assertAcyclic(analyzers);
  assertOwnTables(analyzers);
  return {
    dir,
    configFile,
    config,
    outputRoot,
    stateUrl: config.state,
    warehouseUrl: config.warehouse,
    spillDir: abs(config.spill),
    datasets,
    analyzers,
  };
}

/** The config validated after RECOUNT_* overrides; an invalid field is named in the file or variable that set it. */
function parseConfig(configFile: string, rawConfig: unknown, env: NodeJS.ProcessEnv): ConfigDefinition {
  const parsed = configSchema.safeParse(applyEnvOverrides(rawConfig, env));
  if (parsed.success) return parsed.data;
  const variable = overridingVariable(firstPath(parsed.error), env);
  if (variable) {
    throw new RecountError('CONFIG_INVALID', `${variable}=${env[variable]}: ${formatIssues(parsed.error)}`, {
      subject: variable,
      hint: `${variable} overrides ${firstPath(parsed.error)} of ${configFile}; unset it or give it a valid value`,
    });
  }
  throw new RecountError('CONFIG_INVALID', `${configFile}: ${formatIssues(parsed.error)}`, {
    subject: `${configFile}: ${firstPath(parsed.error)}`,
    hint: 'fix the field named above (see the Configuration section of the README)',
  });
}

/** Validate every analyzer module: each a valid definition, its name unique and not that of a dataset. */
function buildAnalyzers(
  configFile: string,
  config: ConfigDefinition,
  sources: readonly AnalyzerSource[],
  datasets: ReadonlyMap<string, Dataset>,
  env: NodeJS.ProcessEnv,
): Map<string, Analyzer> {
  // Checked before the analyzers, which inherit it: a bad default must be named where it was set.
  const memoryVariable = overridingVariable('defaults.memory', env);
  const defaultMemoryBytes = parseSize(
    config.defaults.memory,
    memoryVariable
      ? `${memoryVariable} (overrides defaults.memory of ${configFile})`
      : `${configFile}: defaults.memory`,
  );
  const analyzers = new Map<string, Analyzer>();
  for (const src of sources) {
    const res = analyzerSchema.safeParse(src.value);
    if (!res.success) {
      throw new RecountError('CONFIG_INVALID', `${src.file}: ${formatIssues(res.error)}`, {
        subject: `${src.file}: ${firstPath(res.error)}`,
        hint: 'fix the analyzer field named above (see the Analyzers section of the README)',
      });
    }
    const a = res.data;
    if (analyzers.has(a.name)) {
      throw new RecountError(
        'CONFIG_INVALID',
        `${src.file}: analyzer '${a.name}' is also defined in ${analyzers.get(a.name)!.file}`,
        { subject: src.file, hint: 'give every analyzer a unique name' },
      );
    }
    if (datasets.has(a.name)) {
      throw new RecountError(
        'CONFIG_INVALID',
        `${src.file}: analyzer '${a.name}' has the name of a dataset in ${configFile}`,
        {
          subject: `${src.file}: name`,
          hint: 'an analyzer output is a dataset of its own; rename the analyzer or the dataset',
        },
      );
    }
    analyzers.set(a.name, resolveAnalyzer(a, src.file, config, defaultMemoryBytes, env));
  }
  return analyzers;
}

/** An analyzer definition with the project's defaults applied, its SQL made embeddable, and its hashes. */
function resolveAnalyzer(
  a: AnalyzerDefinition,
  file: string,
  config: ConfigDefinition,
  defaultMemoryBytes: number,
  env: NodeJS.ProcessEnv,
): Analyzer {
  return {
    ...a,
    // Run as subqueries: a trailing ';' is dropped here (sqlHash below stays that of the SQL as written).
    sql: embeddableQuery(a.sql, `${file}: sql`),
    checks: (a.checks ?? []).map((c) => ({ ...c, sql: embeddableQuery(c.sql, `${file}: checks.${c.name}.sql`) })),
    file,
    memoryBytes: a.memory === undefined ? defaultMemoryBytes : parseSize(a.memory, `${file}: ${a.name}: memory`),
    threadCount: a.threads ?? config.defaults.threads,
    engineChoice: resolveEngine(a.engine ?? config.engine, env),
    fileCount: a.files ?? config.defaults.files,
    versionsToKeep: a.keepVersions ?? config.keepVersions,
    sqlHash: createHash('sha256').update(a.sql).digest('hex'),
    definitionHash: createHash('sha256')
      .update(
        JSON.stringify({
          sql: a.sql,
          keys: a.keys ?? null,
          files: a.files ?? config.defaults.files,
          checks: a.checks ?? [],
          memory: a.memory ?? config.defaults.memory,
          threads: a.threads ?? config.defaults.threads,
        }),
      )
      .digest('hex'),
  };
}

/** Every input of every analyzer is a declared dataset or another analyzer, and none is named 'output'. */
function assertInputsKnown(
  configFile: string,
  analyzers: ReadonlyMap<string, Analyzer>,
  datasets: ReadonlyMap<string, Dataset>,
): void {
  for (const a of analyzers.values()) {
    a.inputs.forEach((input, i) => {
      if (input === 'output') {
        throw new RecountError(
          'CONFIG_INVALID',
          `${a.file}: inputs.${i}: 'output' is reserved for the staged output in checks`,
          { subject: `${a.file}: inputs.${i}`, hint: 'rename the dataset' },
        );
      }
      if (!datasets.has(input)) {
        throw new RecountError('CONFIG_INVALID', `${a.file}: inputs.${i}: unknown dataset '${input}'`, {
          subject: `${a.file}: inputs.${i}`,
          hint: `declare it under datasets in ${configFile}, or name an analyzer; known: ${[...datasets.keys()].join(', ')}`,
        });
      }
    });
  }
}

/** No two analyzers load into one warehouse table: a load replaces whole partitions of its table. */
function assertOwnTables(analyzers: ReadonlyMap<string, Analyzer>): void {
  const tables = new Map<string, Analyzer>();
  for (const a of analyzers.values()) {
    if (!a.load) continue;
    const other = tables.get(a.load.table);
    if (other) {
      throw new RecountError(
        'CONFIG_INVALID',
        `${a.file}: load.table '${a.load.table}' is also the table of analyzer '${other.name}' (${other.file})`,
        {
          subject: `${a.file}: load.table`,
          hint: 'give every analyzer its own warehouse table: a load replaces whole partitions of its table',
        },
      );
    }
    tables.set(a.load.table, a);
  }
}

function assertAcyclic(analyzers: ReadonlyMap<string, Analyzer>): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done' || !analyzers.has(name)) return;
    if (state.get(name) === 'visiting') {
      throw new RecountError(
        'CONFIG_INVALID',
        `analyzers depend on each other in a cycle: ${[...path, name].join(' -> ')}`,
        {
          subject: analyzers.get(name)!.file,
          hint: 'an analyzer cannot read its own output, directly or through others',
        },
      );
    }
    state.set(name, 'visiting');
    for (const i of analyzers.get(name)!.inputs) visit(i, [...path, name]);
    state.set(name, 'done');
  };
  for (const name of analyzers.keys()) visit(name, []);
}

/** Look up an analyzer by name; ANALYZER_UNKNOWN lists the known ones. */
export function getAnalyzer(project: Project, name: string): Analyzer {
  const a = project.analyzers.get(name);
  if (!a) {
    const known = [...project.analyzers.keys()];
    throw new RecountError('ANALYZER_UNKNOWN', `unknown analyzer '${name}'`, {
      subject: name,
      hint: known.length
        ? `known analyzers: ${known.join(', ')}`
        : `no analyzers found; add one under ${project.config.analyzers}/`,
    });
  }
  return a;
}
