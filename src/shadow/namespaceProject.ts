import { dirname, join } from 'node:path';
import { buildProject, type Analyzer, type AnalyzerSource, type Project } from '../config/project.ts';

/** An analyzer as written by its user again: the fields recount derives when loading are dropped. */
function definitionOf(a: Analyzer): Record<string, unknown> {
  const {
    file: _file,
    memoryBytes: _m,
    threadCount: _t,
    fileCount: _f,
    versionsToKeep: _v,
    sqlHash: _s,
    definitionHash: _d,
    engineChoice: _e,
    ...definition
  } = a;
  return definition;
}

/** A candidate definition to put in place of one analyzer. */
export interface Candidate {
  readonly analyzer: string;
  readonly file: string;
  readonly value: Record<string, unknown>;
}

/**
 * The project as a namespace sees it: the same datasets, inputs and analyzers (one of them replaced by a
 * candidate), reading every input — upstream analyzer outputs included — from production, but publishing
 * under its own output root with its own state store, and loading nothing into the warehouse.
 */
export function namespaceProject(
  project: Project,
  outputRoot: string,
  stateFile: string,
  candidate?: Candidate,
): Project {
  const sources: AnalyzerSource[] = [];
  for (const a of project.analyzers.values()) {
    if (candidate && a.name === candidate.analyzer) continue;
    sources.push({ file: a.file, value: { ...definitionOf(a), load: undefined } });
  }
  if (candidate)
    sources.push({ file: candidate.file, value: { ...candidate.value, name: candidate.analyzer, load: undefined } });
  // The config was validated (environment overrides included) when the project loaded: validate it again as it is.
  const built = buildProject(project.dir, project.configFile, project.config, sources, {});
  // No analyzer here loads; the warehouse URL points inside the namespace too, so nothing can reach production's.
  return {
    ...built,
    outputRoot,
    stateUrl: `sqlite:${stateFile}`,
    warehouseUrl: `duckdb:${join(dirname(stateFile), 'warehouse.duckdb')}`,
  };
}
