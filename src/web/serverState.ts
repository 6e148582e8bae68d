import type { Logger } from '../log.ts';
import type { Access } from './auth.ts';
import type { DashboardContext, PageContext } from './context.ts';

/** What a running dashboard keeps across requests, as its route handlers see it. */
export interface ServerState {
  readonly ctx: DashboardContext;
  readonly access: Access;
  /** The outcome of each browser session's last action, shown once on its next page. */
  readonly flashes: Map<string, PageContext['flash']>;
  readonly log: Logger;
}
