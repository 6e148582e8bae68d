import { createRequire } from 'node:module';
import type { Manifest } from '../commit/manifest.ts';

const require = createRequire(import.meta.url);
const installed = new Map<string, string | undefined>();

/**
 * The version of an engine as installed here, as its sessions report it (DuckDB: `v1.5.6`, what `SELECT version()`
 * returns), read without opening a session; undefined for an engine this process cannot ask offline.
 */
export function installedEngineVersion(engine: string): string | undefined {
  if (!installed.has(engine)) {
    let v: string | undefined;
    if (engine === 'duckdb') {
      try {
        v = (require('@duckdb/node-api') as { version(): string }).version();
      } catch {
        v = undefined;
      }
    }
    installed.set(engine, v);
  }
  return installed.get(engine);
}

/** The engine (name and version) whose hash placed a version's keys in its files (I3); older manifests record it in provenance only. */
export function layoutEngineOf(m: Manifest): { engine: string; engineVersion: string } {
  return {
    engine: m.layout.engine ?? m.provenance.engine,
    engineVersion: m.layout.engineVersion ?? m.provenance.engineVersion,
  };
}

/**
 * Why a version's key -> file mapping may differ from what the installed engine writes now, or undefined if it
 * cannot: another engine, or another version of it (an upgrade may change its `hash()`, moving keys to other
 * files). Such a version is a layout change: rerun it, as for changed keys or file count.
 */
export function layoutEngineChange(
  m: Manifest,
  engine = 'duckdb',
  current = installedEngineVersion(engine),
): string | undefined {
  const was = layoutEngineOf(m);
  if (was.engine !== engine)
    return `its files were laid out by ${was.engine} ${was.engineVersion}, the analyzer now runs on ${engine}`;
  if (current !== undefined && was.engineVersion !== current) {
    return `its files were laid out by ${engine} ${was.engineVersion}, the installed ${engine} is ${current} (its hash() may place keys in other files)`;
  }
  return undefined;
}
