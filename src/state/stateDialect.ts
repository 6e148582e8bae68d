/** SQL dialects the state store runs on. */
export type StateDialect = 'sqlite' | 'postgres';
