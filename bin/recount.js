#!/usr/bin/env node
// recount CLI entry. Neither recount nor a user's project needs a build step: see bundle.js.

// Output piped into `head` and the like: a closed pipe ends the command quietly.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

// `recount --version` answers from package.json alone: no bundle, no TypeScript, no database client.
// -V/--version before any command asks for recount's version; after a command it is that command's option.
function wantsVersion(args) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-V' || a === '--version') return true;
    if (a === '--project') i++;
    else if (!a.startsWith('-')) return false;
  }
  return false;
}

if (wantsVersion(process.argv.slice(2))) {
  const { readFileSync } = await import('node:fs');
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  const { importEntry } = await import('./bundle.js');
  const { main } = await importEntry('cli');
  process.exitCode = await main(process.argv);
}
