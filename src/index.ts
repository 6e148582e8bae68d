// Public API of recount: what a user's recount.config.ts and analyzers/*.ts import.
import type { AnalyzerInput, ConfigInput } from './config/schema.ts';

export type {
  AnalyzerInput,
  ConfigInput,
  AnalyzerDefinition,
  ConfigDefinition,
  CheckDefinition,
} from './config/schema.ts';
export type { Grain } from './catalog/partition.ts';
export { RecountError } from './errors.ts';

/** Declare a project's configuration in recount.config.ts; validated when recount loads it. */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config;
}

/** Declare an analyzer in analyzers/<name>.ts; validated when recount loads it. */
export function defineAnalyzer(analyzer: AnalyzerInput): AnalyzerInput {
  return analyzer;
}
