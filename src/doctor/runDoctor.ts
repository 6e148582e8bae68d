import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadProject } from '../config/load.ts';
import type { Analyzer, Project } from '../config/project.ts';
import { OutputLayout } from '../commit/paths.ts';
import { planRecovery, plannedOf, type RecoveryPlan } from '../commit/recoveryPlan.ts';
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
import { describeRecoveryPlan, planIsEmpty } from './describeRecovery.ts';

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

/** What the checks of one doctor run share: its options, its scratch folder, and the engine version once read. */
interface Diagnosis {
  readonly opts: DoctorOptions;
  readonly scratch: string;
  readonly findings: Finding[];
  duckdb: string | null;
}

async function diagnose(opts: DoctorOptions, scratch: string): Promise<DoctorReport> {
  const d: Diagnosis = { opts, scratch, findings: [], duckdb: null };
  const project = await loadChecked(d);
  if (project) {
    const profiles = await checkAnalyzers(d, project);
    const largestMemoryBytes = Math.max(0, ...[...project.analyzers.values()].map((a) => a.memoryBytes));
    d.findings.push(
      ...checkDisk({
        outputRoot: project.outputRoot,
        spillDir: project.spillDir,
        minFreeBytes: opts.minFreeBytes,
        largestMemoryBytes,
      }),
    );
    d.findings.push(...(await checkSparkEndpoints(project)));
    await checkState(d, project, profiles);
  } else {
    // No project to check against: still say whether the installed engine has a known bug.
    await checkEngines(d, undefined, undefined);
  }
  const counts = { ok: 0, info: 0, warning: 0, problem: 0 };
  for (const f of d.findings) counts[f.status]++;
  return {
    ok: counts.problem === 0,
    versions: { recount: RECOUNT_VERSION, duckdb: d.duckdb },
    findings: d.findings,
    counts,
  };
}

/** The project, if its config and analyzers load and validate (a finding either way). */
async function loadChecked(d: Diagnosis): Promise<Project | undefined> {
  try {
    const project = await loadProject(d.opts.projectDir, process.env, { readOnly: true });
    d.findings.push({
      check: 'config',
      status: 'ok',
      subject: project.configFile,
      message: `${project.configFile} and ${project.analyzers.size} analyzer(s) load and validate`,
    });
    return project;
  } catch (err) {
    const e = asRecountError(err);
    d.findings.push({ check: 'config', status: 'problem', subject: e.subject, message: e.message, hint: e.hint });
    return undefined;
  }
}

/**
 * An analyzer that does not plan. doctor plans with DuckDB: for an analyzer that runs on Spark, SQL that only Spark
 * knows (nvl2, from_unixtime, ...) fails here and is not a problem, so it is a warning that says how to check it on
 * Spark itself.
 */
function compileFailure(a: Analyzer, error: string | undefined, noData: boolean): Finding {
  const base = { check: 'compile', subject: a.file, message: `${a.name}: ${error}` } as const;
  if (noData)
    return { ...base, status: 'warning', hint: 'nothing to check it against until an input partition is ready' };
  if (a.engineChoice.name === 'spark')
    return {
      ...base,
      status: 'warning',
      message: `${a.name} runs on Spark; DuckDB, which doctor plans with, cannot plan it: ${error}`,
      hint: `check it on Spark: recount audit ${a.name} --engines spark,duckdb (or recount run ${a.name} on one partition)`,
    };
  return { ...base, status: 'problem', hint: `fix the sql of ${a.file}` };
}

/** Plan and lint every analyzer over its inputs' schema; returns each one's column types and SQL constructs. */
async function checkAnalyzers(d: Diagnosis, project: Project): Promise<AnalyzerProfile[]> {
  const profiles: AnalyzerProfile[] = [];
  for (const a of project.analyzers.values()) {
    const c = await checkAnalyzer({ project, engine: d.opts.engine, spillDir: join(d.scratch, 'spill') }, a);
    const columnTypes = new Set<string>();
    for (const cols of [c.columns ?? [], ...Object.values(c.inputColumns)])
      for (const col of cols) columnTypes.add(col.type);
    // SQL that does not parse cannot be ruled out: every feature counts as present.
    profiles.push({ analyzer: a.name, columnTypes, features: new Set(c.features ?? SQL_FEATURES) });
    if (c.compiles) {
      d.findings.push({
        check: 'compile',
        status: 'ok',
        subject: a.file,
        message: `${a.name} plans over its inputs' schema (${c.schemaFrom.sources.map((s) => `${s.dataset}: ${s.from}`).join('; ')})`,
      });
    } else d.findings.push(compileFailure(a, c.error, c.schemaFrom.missing.length > 0));
    for (const f of c.lint) {
      d.findings.push({
        check: 'lint',
        status: f.severity === 'error' ? 'problem' : 'warning',
        subject: `${a.file}${f.line ? `:${f.line}` : ''}`,
        message: `${a.name}: ${f.rule}: ${f.message}`,
        details: { rule: f.rule },
      });
    }
  }
  return profiles;
}

/** The state store against the files, what recovery would do, and the engines that made the published versions. */
async function checkState(d: Diagnosis, project: Project, profiles: AnalyzerProfile[]): Promise<void> {
  let store: StateStore | undefined;
  try {
    const opened = await openStateStoreReadOnly(project.stateUrl, project.dir);
    store = opened.store;
    const layout = new OutputLayout(project.outputRoot);
    const plan = await planRecovery(store, layout);
    const integrity = await checkStateIntegrity(store, layout, plan);
    d.findings.push(...integrity);
    const clean = !integrity.some((f) => f.status === 'problem' || f.status === 'warning');
    if (!opened.exists || clean)
      d.findings.push({
        check: 'state-store',
        status: 'ok',
        subject: store.url,
        message: opened.exists
          ? 'the state store agrees with the output files'
          : 'no state store yet: nothing has run (doctor does not create it)',
      });
    if (!planIsEmpty(plan)) d.findings.push(recoveryFinding(store.url, plan));
    await checkEngines(d, profiles, store);
  } catch (err) {
    const e = asRecountError(err);
    d.findings.push({ check: 'state-store', status: 'problem', subject: e.subject, message: e.message, hint: e.hint });
  } finally {
    await store?.close();
  }
}

function recoveryFinding(subject: string, plan: RecoveryPlan): Finding {
  return {
    check: 'recovery',
    status: 'info',
    subject,
    message: describeRecoveryPlan(plan).join('; '),
    details: {
      plan: {
        rollForward: plannedOf(plan, 'finish-publish').length,
        abandon: plannedOf(plan, 'abandon-publish').length,
        crashed: plannedOf(plan, 'record-crashed').length,
        staging: plannedOf(plan, 'remove-staging').map((x) => x.dir),
      },
    },
  };
}

/** The installed DuckDB (and, with a store, the engines recorded in published versions) against the known bugs. */
async function checkEngines(
  d: Diagnosis,
  analyzers: AnalyzerProfile[] | undefined,
  store: StateStore | undefined,
): Promise<void> {
  d.duckdb = await duckdbVersion(d.opts.engine, join(d.scratch, 'version'));
  d.findings.push(
    ...(await checkEngineVersions({
      bugs: d.opts.bugs ?? loadKnownBugs(),
      duckdbVersion: d.duckdb,
      recountVersion: RECOUNT_VERSION,
      analyzers,
      store,
    })),
  );
}
