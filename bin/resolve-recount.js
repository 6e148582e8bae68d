// Module resolve hook: lets a user's recount.config.ts and analyzers/*.ts `import ... from 'recount'`
// without installing recount into their project; they get the very copy of recount that runs them.
let target = new URL('../src/index.ts', import.meta.url).href;

/** The bundled public API, when the CLI runs from bundles (set by src/config/tsLoader.ts). */
export async function initialize(data) {
  if (data?.apiUrl) target = data.apiUrl;
}

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'recount') return nextResolve(target, context);
  return nextResolve(specifier, context);
}
