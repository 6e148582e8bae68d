import { readFileSync } from 'node:fs';
import { PACKAGE_ROOT, packagePath } from '../paths.ts';

const example = (path: string) => readFileSync(packagePath(`examples/ad-tech/${path}`), 'utf8');

/** Files `recount init` writes: the ad-tech example project. */
export function projectTemplate(): Record<string, string> {
  return {
    'recount.config.ts': example('recount.config.ts'),
    'analyzers/ad_impressions_hourly.ts': example('analyzers/ad_impressions_hourly.ts'),
    'analyzers/ad_impressions_daily.ts': example('analyzers/ad_impressions_daily.ts'),
    '.gitignore': 'data/\n.recount/\n',
    // ES modules, so recount.config.ts and analyzers/*.ts load as TypeScript ESM with no build step; recount as a
    // linked dependency, so `npm install` puts `npx recount` and the types of `import 'recount'` in the project.
    'package.json': `${JSON.stringify({ name: 'recount-project', private: true, type: 'module', devDependencies: { recount: `file:${PACKAGE_ROOT}` } }, null, 2)}\n`,
  };
}
