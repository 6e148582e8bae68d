// Module resolve hook: lets a user's recount.config.ts and analyzers/*.ts `import ... from 'recount'`
// without installing recount into their project; they get the very copy of recount that runs them.
const target = new URL('../src/index.ts', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'recount') return nextResolve(target, context);
  return nextResolve(specifier, context);
}
