#!/usr/bin/env node
// recount CLI entry. Neither recount nor a user's project needs a build step: see bundle.js.
import { importEntry } from './bundle.js';

// Output piped into `head` and the like: a closed pipe ends the command quietly.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const { main } = await importEntry('cli');
process.exitCode = await main(process.argv);
