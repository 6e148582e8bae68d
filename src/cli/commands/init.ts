import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { RecountError } from '../../errors.ts';
import { action } from '../command.ts';
import { projectTemplate } from '../templates.ts';
import { PACKAGE_ROOT } from '../../paths.ts';

/** Write the example project into a folder; refuses to overwrite an existing project. */
export function initProject(dir: string): string[] {
  const root = resolve(dir);
  if (existsSync(join(root, 'recount.config.ts'))) {
    throw new RecountError('USAGE', `${root} already has a recount.config.ts`, {
      subject: root,
      hint: 'pick an empty folder, or edit the existing project',
    });
  }
  const written: string[] = [];
  for (const [path, text] of Object.entries(projectTemplate())) {
    const abs = join(root, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
    written.push(path);
  }
  return written;
}

/** `recount init [dir]`: a new project with the ad-tech example. */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a project: recount.config.ts, dataset events at data/events, two example analyzers')
    .argument('[dir]', 'project folder (default: --project or .)')
    .action(
      action(async (out, g, dir: string | undefined) => {
        const root = resolve(dir ?? g.project);
        const files = initProject(root);
        out.result({ ok: true, project: root, files }, () => {
          out.info(`created a recount project in ${root}:`);
          for (const f of files) out.info(`  ${f}`);
          out.info('\nnext:');
          out.info(`  cd ${root}`);
          out.info(
            `  npm install        # links recount (${PACKAGE_ROOT}) into the project: npx recount, and types for your editor`,
          );
          out.info(
            '  npx recount gen events --out data/events --start 2023-10-12T00 --hours 24 --rows-per-hour 100000 --seed 1',
          );
          out.info(
            '  npx recount serve  # runs every ready hour, then the daily rollup; dashboard on http://127.0.0.1:7878/',
          );
          out.info('or by hand:');
          out.info('  npx recount backfill ad_impressions_hourly --from 2023-10-12T00 --to 2023-10-12T23');
          out.info('  npx recount run ad_impressions_daily --partition 2023-10-12');
        });
      }),
    );
}
