// The driver's UI of a Spark Connect session's application, and its REST API (`/api/v1/applications/{id}/…`):
// executors' memory while an attempt runs (executorMemory.ts), and whether a dead attempt's jobs have ended.
import type { SparkUi } from './executorMemory.ts';

/** The settings a session asks for to find its UI. */
export const UI_CONF_KEYS = ['spark.app.id', 'spark.ui.port', 'spark.ui.enabled'];

/** The UI of the application a session runs in, from its settings; undefined when the UI is off or unknown. */
export function sparkUiOf(host: string, conf: Record<string, string | undefined>): SparkUi | undefined {
  const appId = conf['spark.app.id'];
  if (!appId || conf['spark.ui.enabled'] === 'false') return undefined;
  const h = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${h}:${conf['spark.ui.port'] ?? '4040'}`, appId };
}

interface JobData {
  readonly status: string;
  readonly numActiveTasks?: number;
  readonly jobTags?: readonly string[];
}

/** Jobs of the session still running or with tasks not yet dead; undefined when the UI does not answer. */
async function liveSessionJobs(ui: SparkUi, sessionId: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${ui.url}/api/v1/applications/${encodeURIComponent(ui.appId)}/jobs`, {
      signal: AbortSignal.timeout(2_000),
    });
    if (!res.ok) return undefined;
    const jobs = (await res.json()) as JobData[];
    // Spark Connect tags every job of an operation with its session id.
    const mine = jobs.filter((j) => (j.jobTags ?? []).some((t) => t.includes(`_Session_${sessionId}_`)));
    return mine.filter((j) => j.status === 'RUNNING' || (j.numActiveTasks ?? 0) > 0).length;
  } catch {
    return undefined;
  }
}

/**
 * Wait until no job of the session runs and none of their tasks is still alive: an interrupt cancels the jobs at
 * once, but their tasks die on the executors a moment later, and a dying write task can still make files. Resolves
 * true once they have ended, false when `timeoutMs` passed or the UI cannot tell.
 */
export async function sessionJobsEnded(ui: SparkUi, sessionId: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const live = await liveSessionJobs(ui, sessionId);
    if (live === 0) return true;
    if (live === undefined || Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}
