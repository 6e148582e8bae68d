import type { Command } from 'commander';
import { loadProject } from '../../config/load.ts';
import { getAnalyzer } from '../../config/project.ts';
import { parsePartition } from '../../catalog/partition.ts';
import { OutputLayout } from '../../commit/paths.ts';
import { duckdbViewSql, publishedFiles } from '../../commit/publishedFiles.ts';
import { action } from '../command.ts';

/**
 * `recount files <analyzer> --partition ID [--view [NAME]]`: the exact files of the published version, resolved
 * once, so a reader that opens them reads one complete version whatever is published meanwhile. Changes nothing.
 */
export function registerFiles(program: Command): void {
  program
    .command('files')
    .description("print the exact files of a partition's published version (real paths inside its version folder)")
    .argument('<analyzer>', 'analyzer name')
    .requiredOption('--partition <id>', 'partition id')
    .option(
      '--view [name]',
      'print a DuckDB CREATE VIEW over exactly those files (view named after the analyzer unless NAME)',
    )
    .action(
      action(async (out, g, name: string, opts: { partition: string; view?: string | boolean }) => {
        const project = await loadProject(g.project);
        const analyzer = getAnalyzer(project, name);
        const p = parsePartition(opts.partition, analyzer.grain);
        const v = publishedFiles(new OutputLayout(project.outputRoot), analyzer.name, p.id);
        const paths = v.files.map((f) => f.path);
        const view =
          opts.view === undefined
            ? undefined
            : duckdbViewSql(typeof opts.view === 'string' ? opts.view : analyzer.name, paths);
        out.result({ ok: true, ...v, ...(view ? { view } : {}) }, () => {
          if (view) out.info(view);
          else for (const f of paths) out.info(f);
        });
      }),
    );
}
