/** The time the state store records a change at: ISO text in UTC (`2026-01-02T03:04:05.678Z`), as every table stores it. */
export const now = (): string => new Date().toISOString();
