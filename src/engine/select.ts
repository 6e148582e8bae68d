import type { Analyzer, EngineChoice } from '../config/project.ts';
import type { Engine } from './engine.ts';
import { SparkEngine } from './spark/sparkEngine.ts';

const sparkEngines = new Map<string, Engine>();

/** The Engine of a configured choice: `duckdb` is the caller's (one per process), a Spark remote one per remote and settings. */
export function engineOf(choice: EngineChoice | undefined, duckdb: Engine): Engine {
  if (!choice || choice.name === 'duckdb') return duckdb;
  const key = JSON.stringify([choice.remote, choice.conf]);
  let engine = sparkEngines.get(key);
  if (!engine) sparkEngines.set(key, (engine = new SparkEngine({ remote: choice.remote, conf: choice.conf })));
  return engine;
}

/** The Engine an analyzer runs on: its own `engine`, else the project's; `fallback` when that is DuckDB (or a test's engine). */
export function engineFor(analyzer: Analyzer, fallback: Engine): Engine {
  return fallback.name === 'duckdb' ? engineOf(analyzer.engineChoice, fallback) : fallback;
}
