/** Small typed readers for environment variables; every failure names the variable. */
import { ConfigError } from "./errors.js";

export type Env = Readonly<Record<string, string | undefined>>;

/** A comma-separated list, trimmed, empty items dropped. */
export function readList(env: Env, name: string, fallback: readonly string[]): string[] {
  const raw = env[name];
  if (raw === undefined) return [...fallback];
  return raw
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** A non-negative integer; an empty string means "use the default", as in the reference. */
export function readCount(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number of 0 or more, got '${raw}'`);
  return Number(raw);
}

/** A positive number (fractions allowed). */
export function readPositiveNumber(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(name, `must be a positive number, got '${raw}'`);
  return value;
}

/** A number of 0 or more (fractions allowed), e.g. a loop interval where 0 means "no pause". */
export function readNonNegativeNumber(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new ConfigError(name, `must be a number of 0 or more, got '${raw}'`);
  return value;
}

export function readPort(env: Env, name: string, fallback: number): number {
  const port = readCount(env, name, fallback);
  if (port < 1 || port > 65535)
    throw new ConfigError(name, `must be a TCP port between 1 and 65535, got '${port}'`);
  return port;
}

/** The reference's boolean rule: only the case-insensitive string "true" enables a setting. */
export function readTrue(env: Env, name: string): boolean {
  return (env[name] ?? "").trim().toLowerCase() === "true";
}

export function readString(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  return raw === undefined ? fallback : raw;
}

/** A boolean written `true`/`false` (also 1/0, yes/no), case-insensitive. */
export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (["true", "1", "yes"].includes(raw)) return true;
  if (["false", "0", "no"].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got '${env[name]}'`);
}
