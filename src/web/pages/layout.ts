import { RECOUNT_VERSION } from '../../version.ts';
import { html, raw, type Html } from '../html.ts';
import { STYLE } from '../style.ts';
import type { PageContext } from '../context.ts';

/** Which tab of the top bar is lit. */
export type Tab = 'overview' | 'alerts' | 'none';

/** The page frame: top bar, flash message, content. `refreshSeconds` reloads while work is under way. */
export function layout(
  pc: PageContext,
  title: string,
  tab: Tab,
  body: Html,
  opts: { refreshSeconds?: number } = {},
): string {
  const alerts = pc.openAlerts
    ? html` <span class="badge" style="background:${pc.critical ? '#d9414e' : '#e8912d'}">${pc.openAlerts}</span>`
    : '';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
${opts.refreshSeconds ? raw(`<meta http-equiv="refresh" content="${opts.refreshSeconds}">`) : ''}
<title>${title} · recount</title><style>${raw(STYLE)}</style></head>
<body><header class="top"><a class="brand" href="/">recount</a><nav><a href="/" class="${tab === 'overview' ? 'on' : ''}">Analyzers</a><a href="/alerts" class="${tab === 'alerts' ? 'on' : ''}">Alerts${alerts}</a><a href="/metrics">Metrics</a></nav><span class="right">v${RECOUNT_VERSION} · times in UTC</span></header>
<main>${pc.flash ? html`<div class="flash ${pc.flash.kind}" role="status">${pc.flash.text}</div>` : ''}${body}</main></body></html>`
    .value;
}

/** A POST form with the session's CSRF token. */
export function actionForm(
  pc: PageContext,
  action: string,
  fields: Record<string, string | number>,
  button: Html | string,
  opts: { cls?: string; inline?: boolean } = {},
): Html {
  const hidden = Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${String(v)}">`);
  return html`<form method="post" action="${action}" class="${opts.inline === false ? '' : 'inline'}"><input type="hidden" name="_csrf" value="${pc.csrf}">${hidden}<button type="submit" class="${opts.cls ?? ''}">${button}</button></form>`;
}

/** A coloured status label. */
export function badge(text: string, color: string): Html {
  return html`<span class="badge" style="background:${color}">${text}</span>`;
}
