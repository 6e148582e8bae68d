// A worker thread that finishes recorded intents as a recovery would, at the same instant as its siblings: for each
// {intentId, barrier} it is sent, it reads the intent with its own state store connection, reports ready, waits on
// the shared barrier, then calls applyIntent and reports the outcome. Used by test/commit/concurrentRecovery.test.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { openStateStore } from '../../src/state/open.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { applyIntent } from '../../src/commit/publish.ts';

const { stateUrl, projectDir, outputRoot } = workerData as { stateUrl: string; projectDir: string; outputRoot: string };
const store = await openStateStore(stateUrl, projectDir);
const layout = new OutputLayout(outputRoot);
parentPort!.on('message', async (m: { intentId?: number; barrier?: SharedArrayBuffer; close?: boolean }) => {
  if (m.close) {
    await store.close();
    parentPort!.close();
    return;
  }
  const intent = (await store.pendingIntents()).find((i) => i.id === m.intentId)!;
  parentPort!.postMessage({ ready: true });
  Atomics.wait(new Int32Array(m.barrier!), 0, 0);
  try {
    parentPort!.postMessage({ ok: await applyIntent(store, layout, intent, { recovering: true }) });
  } catch (err) {
    parentPort!.postMessage({ error: String((err as Error).stack ?? err) });
  }
});
parentPort!.postMessage({ started: true });
