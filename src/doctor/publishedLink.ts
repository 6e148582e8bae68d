import { existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** What is at a published path, compared with the version folder it should point at. */
export type LinkState =
  | { state: 'ok' }
  | { state: 'missing' }
  | { state: 'not-a-link' }
  | { state: 'dangling'; target: string }
  | { state: 'elsewhere'; target: string };

/** Look at a published path without following it blindly: a missing link, a real folder, a dangling link, a link elsewhere. */
export function inspectPublishedLink(link: string, versionDir: string): LinkState {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(link);
  } catch {
    return { state: 'missing' };
  }
  if (!st.isSymbolicLink()) return { state: 'not-a-link' };
  const target = resolve(dirname(link), readlinkSync(link));
  if (!existsSync(target)) return { state: 'dangling', target };
  const expected = existsSync(versionDir) ? realpathSync(versionDir) : versionDir;
  return realpathSync(target) === expected ? { state: 'ok' } : { state: 'elsewhere', target: realpathSync(target) };
}

/** The finding's message for a link that is not right. */
export function describeLink(link: string, s: Exclude<LinkState, { state: 'ok' }>, seq: number): string {
  switch (s.state) {
    case 'missing':
      return `the published path ${link} is missing, but the state store says v${seq} is published`;
    case 'not-a-link':
      return `${link} is a real file or folder, not recount's published link to v${seq}`;
    case 'dangling':
      return `the published link ${link} points at ${s.target}, which does not exist; the state store says v${seq} is published`;
    case 'elsewhere':
      return `the published link ${link} points at ${s.target}, not at v${seq}, which the state store says is published`;
  }
}
