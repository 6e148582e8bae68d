#!/usr/bin/env node
// recount CLI entry: TypeScript runs through tsx, so neither recount nor a user's project needs a build step.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./resolve-recount.js', import.meta.url);
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
