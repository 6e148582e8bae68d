import type { IncomingMessage, ServerResponse } from 'node:http';
import { asRecountError } from '../../errors.ts';
import { ACTIONS } from '../actions.ts';
import { readFormBody, redirect, send, TEXT } from '../http.ts';
import type { ServerState } from '../serverState.ts';

type Action = (typeof ACTIONS)[string];

/** Flashes kept at most; past it they are dropped (sessions that never came back for theirs). */
const MAX_FLASHES = 1000;

/** A POST: run the named action from a same-site form, remember its outcome for the session, redirect to a page. */
export async function handleAction(
  state: ServerState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  session: string,
): Promise<void> {
  const action = ACTIONS[path];
  if (!action) return send(res, 404, TEXT, 'no such action\n');
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
  if (type !== 'application/x-www-form-urlencoded')
    return send(res, 415, TEXT, 'actions take a form (application/x-www-form-urlencoded)\n');
  const body = await readFormBody(req);
  if (body === undefined) return send(res, 413, TEXT, 'form too large\n');
  const form = new URLSearchParams(body);
  const problem = state.access.crossSiteProblem(req, form.get('_csrf') ?? undefined);
  if (problem) {
    state.log.warn({ path, problem }, 'dashboard action refused as cross-site');
    return send(res, 403, TEXT, `recount: action refused (${problem}); use the buttons on the dashboard's own pages\n`);
  }
  redirect(res, await runAction(state, action, path, form, session));
}

/** Run an action and flash its outcome; returns where to send the browser next. */
async function runAction(
  state: ServerState,
  action: Action,
  path: string,
  form: URLSearchParams,
  session: string,
): Promise<string> {
  try {
    const r = await action(state.ctx, form);
    if (state.flashes.size > MAX_FLASHES) state.flashes.clear();
    state.flashes.set(session, { kind: r.ok ? 'ok' : 'error', text: r.text });
    state.log.info(
      {
        action: path,
        analyzer: form.get('analyzer') ?? undefined,
        partition: form.get('partition') ?? undefined,
        ok: r.ok,
      },
      r.text,
    );
    return r.location;
  } catch (err) {
    const e = asRecountError(err);
    state.flashes.set(session, { kind: 'error', text: `${e.message}${e.hint ? ` — ${e.hint}` : ''}` });
    return pageOfForm(form);
  }
}

/** The page a form was sent from, as far as its fields tell: its partition, its analyzer, else the overview. */
function pageOfForm(form: URLSearchParams): string {
  const a = form.get('analyzer');
  const p = form.get('partition');
  if (a && p) return `/analyzers/${encodeURIComponent(a)}/partitions/${encodeURIComponent(p)}`;
  if (a) return `/analyzers/${encodeURIComponent(a)}`;
  return '/';
}
