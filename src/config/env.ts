import { RecountError } from '../errors.ts';

/** Environment variables that override the config file where a deployment needs it. */
export const envOverrides = {
  RECOUNT_OUTPUT: 'output',
  RECOUNT_STATE: 'state',
  RECOUNT_WAREHOUSE: 'warehouse',
  RECOUNT_SPILL: 'spill',
  RECOUNT_KEEP_VERSIONS: 'keepVersions',
  RECOUNT_MEMORY: 'defaults.memory',
  RECOUNT_THREADS: 'defaults.threads',
} as const;

const numeric = new Set(['keepVersions', 'defaults.threads']);

/** Return a copy of a raw config with RECOUNT_* variables applied; a non-numeric number is named by its variable. */
export function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const out: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  for (const [name, field] of Object.entries(envOverrides)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    let value: string | number = v;
    if (numeric.has(field)) {
      value = Number(v);
      if (!Number.isInteger(value) || value < 1) {
        throw new RecountError('CONFIG_INVALID', `${name}=${v}: expected a positive whole number`, {
          subject: name,
          hint: `unset ${name} or give it a number`,
        });
      }
    }
    if (field.startsWith('defaults.')) {
      const defaults = { ...((out.defaults as Record<string, unknown> | undefined) ?? {}) };
      defaults[field.slice('defaults.'.length)] = value;
      out.defaults = defaults;
    } else {
      out[field] = value;
    }
  }
  return out;
}

/** The RECOUNT_* variable that set a config field (`defaults.threads`), if one did: errors name it, not the file. */
export function overridingVariable(field: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const [name, f] of Object.entries(envOverrides))
    if (f === field && env[name] !== undefined && env[name] !== '') return name;
  return undefined;
}
