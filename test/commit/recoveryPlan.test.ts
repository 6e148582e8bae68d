import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/project.ts';
import { openSqliteStore } from '../../src/state/sqlite/sqliteStore.ts';
import type { StateStore } from '../../src/state/store.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { applyIntent } from '../../src/commit/publish.ts';
import { planRecovery, type RecoveryAction } from '../../src/commit/recoveryPlan.ts';
import { recover } from '../../src/commit/recovery.ts';
import { tempLinkName } from '../../src/commit/tempLink.ts';
import { currentProcToken, HOST } from '../../src/process/identity.ts';

const P = '2023-10-12T00';
const DEAD = '999999999:1';

/** One world: a state store, an output root and a spill folder under one temporary folder. */
interface World {
  readonly dir: string;
  readonly store: StateStore;
  readonly layout: OutputLayout;
  readonly spill: string;
}

async function begin(w: World, attemptId: string, procToken: string): Promise<number> {
  const { baseSeq } = await w.store.beginAttempt({
    runId: attemptId,
    attemptId,
    analyzer: 'a',
    partitionId: P,
    trigger: 'test',
    pid: Number(procToken.split(':')[0]),
    host: HOST,
    procToken,
    threads: 1,
    memoryBytes: 1,
    stagingDir: w.layout.stagingDir(attemptId),
  });
  return baseSeq;
}

/** A staging folder; with `manifest`, a complete one a publish can be finished from. */
function stage(w: World, attemptId: string, manifest: boolean): void {
  mkdirSync(w.layout.stagingDir(attemptId), { recursive: true });
  if (manifest) writeFileSync(join(w.layout.stagingDir(attemptId), '_manifest.json'), '{}');
}

/** An attempt that claimed its publish (an intent is pending) and was killed before it finished. */
async function claimed(w: World, attemptId: string, procToken: string, files: 'staged' | 'gone') {
  const baseSeq = await begin(w, attemptId, procToken);
  if (files === 'staged') stage(w, attemptId, true);
  const claim = await w.store.claimPublish(
    {
      analyzer: 'a',
      partitionId: P,
      seq: baseSeq + 1,
      attemptId,
      stagingDir: w.layout.stagingDir(attemptId),
      versionDir: w.layout.versionDir('a', P, baseSeq + 1),
      rows: 1,
      bytes: 1,
      files: 1,
      manifestSha256: 'x',
      inputFingerprint: 'f',
      sqlHash: 's',
      engineVersion: 'v',
      recountVersion: 'r',
    },
    baseSeq,
  );
  if (!claim.won) throw new Error(`claim lost: ${claim.reason}`);
  return claim.intent;
}

function old(path: string): void {
  const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
  utimesSync(path, twoHoursAgo, twoHoursAgo);
}

/** An action as [kind, what it is about], for tables. */
function brief(a: RecoveryAction): [string, string] {
  switch (a.kind) {
    case 'finish-publish':
    case 'abandon-publish':
    case 'leave-publish':
      return [a.kind, a.intent.attempt_id ?? ''];
    case 'record-succeeded':
    case 'record-crashed':
      return [a.kind, a.attempt.attempt_id];
    case 'remove-staging':
    case 'remove-spill':
    case 'remove-temp-link':
      return [a.kind, a.name.startsWith('link.') ? 'link' : a.name];
  }
}

const cases: { name: string; given: (w: World) => Promise<unknown>; plan: [string, string][] }[] = [
  { name: 'nothing to recover', given: async () => undefined, plan: [] },
  {
    name: 'a live attempt and its staging are left alone',
    given: async (w) => {
      await begin(w, 'live', currentProcToken());
      stage(w, 'live', false);
    },
    plan: [],
  },
  {
    name: 'a dead attempt is crashed and its staging removed',
    given: async (w) => {
      await begin(w, 'dead', DEAD);
      stage(w, 'dead', false);
    },
    plan: [
      ['record-crashed', 'dead'],
      ['remove-staging', 'dead'],
    ],
  },
  {
    name: 'staging of no recorded attempt is removed, whatever its age',
    given: async (w) => stage(w, 'stranger', false),
    plan: [['remove-staging', 'stranger']],
  },
  {
    name: 'an interrupted publish whose files are staged is finished; its staging becomes the version, not removed',
    given: (w) => claimed(w, 'killed', DEAD, 'staged'),
    plan: [
      ['finish-publish', 'killed'],
      ['record-succeeded', 'killed'],
    ],
  },
  {
    name: 'an interrupted publish whose files are gone is abandoned and its attempt crashed',
    given: (w) => claimed(w, 'lost', DEAD, 'gone'),
    plan: [
      ['abandon-publish', 'lost'],
      ['record-crashed', 'lost'],
    ],
  },
  {
    name: 'a publish its live attempt is carrying through is left alone, staging included',
    given: (w) => claimed(w, 'publishing', currentProcToken(), 'staged'),
    plan: [['leave-publish', 'publishing']],
  },
  {
    name: 'an attempt that died after its version was published is recorded as succeeded',
    given: async (w) => {
      const intent = await claimed(w, 'done', DEAD, 'staged');
      expect(await applyIntent(w.store, w.layout, intent)).toBe(true);
    },
    plan: [['record-succeeded', 'done']],
  },
  {
    name: 'spill of a dead attempt and old spill of none recorded go; fresh unknown spill and a live one stay',
    given: async (w) => {
      await begin(w, 'dead', DEAD);
      await begin(w, 'live', currentProcToken());
      for (const name of ['dead', 'live', 'fresh', 'stale']) mkdirSync(join(w.spill, name), { recursive: true });
      old(join(w.spill, 'stale'));
    },
    plan: [
      ['record-crashed', 'dead'],
      ['remove-spill', 'dead'],
      ['remove-spill', 'stale'],
    ],
  },
  {
    name: 'a temp link of a dead publisher goes; this process’s own stays',
    given: async (w) => {
      mkdirSync(w.layout.tmpRoot, { recursive: true });
      symlinkSync('nowhere', join(w.layout.tmpRoot, tempLinkName(HOST, DEAD)));
      symlinkSync('nowhere', join(w.layout.tmpRoot, tempLinkName(HOST, currentProcToken())));
    },
    plan: [['remove-temp-link', 'link']],
  },
];

describe('the recovery plan', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.store.close();
    if (w) rmSync(w.dir, { recursive: true, force: true });
    w = undefined;
  });

  async function world(): Promise<World> {
    const dir = tempDir('recount-plan-');
    const spill = join(dir, 'spill');
    mkdirSync(spill);
    w = { dir, store: await openSqliteStore(join(dir, 'state.db')), layout: new OutputLayout(join(dir, 'out')), spill };
    return w;
  }

  it.each(cases)('$name', async ({ given, plan }) => {
    const w = await world();
    await given(w);
    const planned = await planRecovery(w.store, w.layout, { spillDir: w.spill });
    expect(planned.actions.map(brief)).toEqual(plan);
    for (const a of planned.actions) expect(a.reason).not.toBe('');
    // Planning changes nothing: the same plan twice.
    expect((await planRecovery(w.store, w.layout, { spillDir: w.spill })).actions.map(brief)).toEqual(plan);
    // recover() applies the plan: afterwards nothing is left to do but what a live owner carries through.
    await recover(w.store, w.layout, { spillDir: w.spill });
    const after = await planRecovery(w.store, w.layout, { spillDir: w.spill });
    expect(after.actions.map(brief)).toEqual(plan.filter(([kind]) => kind === 'leave-publish'));
  });

  it('recover() reports what the plan said it would do', async () => {
    const w = await world();
    await claimed(w, 'killed', DEAD, 'staged');
    await begin(w, 'dead', DEAD);
    stage(w, 'dead', false);
    const r = await recover(w.store, w.layout, { spillDir: w.spill });
    expect(r.rolledForward).toEqual([`a ${P} v1`]);
    expect(r.crashedAttempts).toEqual(['dead']);
    expect(r.removedStaging).toEqual(['dead']);
    expect(existsSync(w.layout.versionDir('a', P, 1))).toBe(true);
    expect((await w.store.getAttempt('killed'))!.status).toBe('succeeded');
  });
});
