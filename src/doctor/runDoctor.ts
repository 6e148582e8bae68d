import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadProject } from '../config/load.ts';
import type { Project } from '../config/project.ts';
import { OutputLayout } from '../commit/paths.ts';
import type { Engine } from '../engine/engine.ts';
import { asRecountError } from '../errors.ts';
import type { StateStore } from '../state/store.ts';
import { RECOUNT_VERSION } from '../version.ts';
import { checkAnalyzer } from '../audit/lintAnalyzer.ts';
import { checkDisk } from './disk.ts';
import { checkEngineVersions } from './engineCheck.ts';
import { checkSparkEndpoints } from './sparkEndpoint.ts';
import type { Finding } from './finding.ts';
import { loadKnownBugs, type AnalyzerProfile, type KnownBug } from './knownBugs.ts';
import { SQL_FEATURES } from '../audit/sqlFeatures.ts';
import { checkStateIntegrity } from './stateIntegrity.ts';
import { openStateStoreReadOnly } from './readOnlyStore.ts';
import { describeRecoveryPlan, planIsEmpty, planRecovery } from './recoveryPlan.ts';

/** Everything `recount doctor` found. */
export interface DoctorReport {
  /** False when any finding is a problem. */
  readonly ok: boolean;
  readonly versions: { recount: string; duckdb: string | null };
  readonly findings: Finding[];
  readonly counts: Record<Finding['status'], number>;
}

/** Options of a doctor run. */
export interface DoctorOptions {
  readonly projectDir: string;
  readonly engine: Engine;
  /** Less free disk than this on the output or spill volume is a problem. */
  readonly minFreeBytes: number;
  /** A known-bugs list other than the shipped one (tests). */
  readonly bugs?: readonly KnownBug[];
}

async function duckdbVersion(engine: Engine, spillDir: string): Promise<string> {
  const session = await engine.open({ memoryBytes: 100_000_000, threads: 1, spillDir });
  try {
    return session.version;
  } finally {
    session.close();
  }
}

/**
 * Check a project without changing anything (no recovery, no run; the state store is read without being
 * created, migrated or locked; DuckDB's scratch goes to a temporary folder, not the project's spill): the config
 * loads; every analyzer plans over its inputs' schema and lints clean; the output and spill volumes have room;
 * the state store agrees with the files; the installed and recorded DuckDB versions against the known engine bugs.
 */
export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const scratch = mkdtempSync(join(tmpdir(), 'recount-doctor-'));
  try {
    return await diagnose(opts, scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function diagnose(opts: DoctorOptions, scratch: string): Promise<DoctorReport> {
  const findings: Finding[] = [];
  let project: Project | undefined;
  try {
    project = await loadProject(opts.projectDir, process.env, { readOnly: true });
    findings.push({
      check: 'config',
      status: 'ok',
      subject: project.configFile,
      message: `${project.configFile} and ${project.analyzers.size} analyzer(s) load and validate`,
    });
  } catch (err) {
    const e = asRecountError(err);
    findings.push({ check: 'config', status: 'problem', subject: e.subject, message: e.message, hint: e.hint });
  }
  let duckdb: string | null = null;
  if (project) {
    const profiles: AnalyzerProfile[] = [];
    for (const a of project.analyzers.values()) {
      const c = await checkAnalyzer({ project, engine: opts.engine, spillDir: join(scratch, 'spill') }, a);
      const columnTypes = new Set<string>();
      for (const cols of [c.columns ?? [], ...Object.values(c.inputColumns)])
        for (const col of cols) columnTypes.add(col.type);
      // SQL that does not parse cannot be ruled out: every feature counts as present.
      profiles.push({ analyzer: a.name, columnTypes, features: new Set(c.features ?? SQL_FEATURES) });
      if (c.compiles) {
        findings.push({
          check: 'compile',
          status: 'ok',
          subject: a.file,
          message: `${a.name} plans over its inputs' schema (${c.schemaFrom.sources.map((s) => `${s.dataset}: ${s.from}`).join('; ')})`,
        });
      } else {
        const noData = c.schemaFrom.missing.length > 0;
        findings.push({
          check: 'compile',
          status: noData ? 'warning' : 'problem',
          subject: a.file,
          message: `${a.name}: ${c.error}`,
          hint: noData ? 'nothing to check it against until an input partition is ready' : `fix the sql of ${a.file}`,
        });
      }
      for (const f of c.lint) {
        findings.push({
          check: 'lint',
          status: f.severity === 'error' ? 'problem' : 'warning',
          subject: `${a.file}${f.line ? `:${f.line}` : ''}`,
          message: `${a.name}: ${f.rule}: ${f.message}`,
          details: { rule: f.rule },
        });
      }
    }
    const largestMemoryBytes = Math.max(0, ...[...project.analyzers.values()].map((a) => a.memoryBytes));
    findings.push(
      ...checkDisk({
        outputRoot: project.outputRoot,
        spillDir: project.spillDir,
        minFreeBytes: opts.minFreeBytes,
        largestMemoryBytes,
      }),
    );
    findings.push(...(await checkSparkEndpoints(project)));

    let store: StateStore | undefined;
    try {
      const opened = await openStateStoreReadOnly(project.stateUrl, project.dir);
      store = opened.store;
      const layout = new OutputLayout(project.outputRoot);
      const plan = await planRecovery(store, layout);
      const integrity = await checkStateIntegrity(store, layout, plan);
      findings.push(...integrity);
      if (!opened.exists)
        findings.push({
          check: 'state-store',
          status: 'ok',
          subject: store.url,
          message: 'no state store yet: nothing has run (doctor does not create it)',
        });
      else if (!integrity.some((f) => f.status === 'problem' || f.status === 'warning'))
        findings.push({
          check: 'state-store',
          status: 'ok',
          subject: store.url,
          message: 'the state store agrees with the output files',
        });
      if (!planIsEmpty(plan))
        findings.push({
          check: 'recovery',
          status: 'info',
          subject: store.url,
          message: describeRecoveryPlan(plan).join('; '),
          details: {
            plan: {
              rollForward: plan.rollForward.length,
              abandon: plan.abandon.length,
              crashed: plan.crashed.length,
              staging: plan.staging.map((x) => x.dir),
            },
          },
        });
      duckdb = await duckdbVersion(opts.engine, join(scratch, 'version'));
      findings.push(
        ...(await checkEngineVersions({
          bugs: opts.bugs ?? loadKnownBugs(),
          duckdbVersion: duckdb,
          recountVersion: RECOUNT_VERSION,
          analyzers: profiles,
          store,
        })),
      );
    } catch (err) {
      const e = asRecountError(err);
      findings.push({ check: 'state-store', status: 'problem', subject: e.subject, message: e.message, hint: e.hint });
    } finally {
      await store?.close();
    }
  }
  if (!project) {
    // No project to check against: still say whether the installed engine has a known bug.
    duckdb = await duckdbVersion(opts.engine, join(scratch, 'version'));
    findings.push(
      ...(await checkEngineVersions({
        bugs: opts.bugs ?? loadKnownBugs(),
        duckdbVersion: duckdb,
        recountVersion: RECOUNT_VERSION,
        analyzers: undefined,
      })),
    );
  }
  const counts = { ok: 0, info: 0, warning: 0, problem: 0 };
  for (const f of findings) counts[f.status]++;
  return { ok: counts.problem === 0, versions: { recount: RECOUNT_VERSION, duckdb }, findings, counts };
}
