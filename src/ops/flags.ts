/**
 * Operator flag commands (`rap flags`, `rap pause`, `rap db-maintenance`): the library functions behind the CLI,
 * with the reference's semantics (reference/controller.md §5, §10).
 */
import type { FlagStore } from "../db/storage.js";
import { type Clock, nowFractionalSeconds, systemClock } from "../domain/clock.js";
import { DB_MAINTENANCE_MODE, Flag, type FlagValue } from "../domain/flags.js";
import { isoFromUnixSeconds } from "../python/datetime.js";

export class FlagAssignmentError extends Error {
  readonly code = "FLAG_ASSIGNMENT_INVALID";
}

/** `NAME=VALUE` → [name, value]; `NAME=` clears the flag (NULL). */
export function parseAssignment(text: string): [string, string | null] {
  const at = text.indexOf("=");
  if (at <= 0) throw new FlagAssignmentError(`flags must be given as NAME=VALUE, got '${text}'`);
  const value = text.slice(at + 1);
  return [text.slice(0, at), value === "" ? null : value];
}

/** `[backend] id=value (timestamp)`, or `(never set)` for a flag with no row; a NULL value prints as None. */
function formatFlag(backend: string, id: string, flag: FlagValue | undefined): string {
  const value = flag?.value ?? "None";
  const when = flag ? isoFromUnixSeconds(flag.timestamp) : "never set";
  return `[${backend}] ${id}=${value} (${when})`;
}

/** The named flags of a backend (each, set or not), or every flag it has when no names are given. */
export async function describeFlags(
  flags: FlagStore,
  backend: string,
  names: readonly string[],
): Promise<string[]> {
  const found = await flags.list(backend, names.length > 0 ? names : undefined);
  if (names.length === 0) return found.map((f) => formatFlag(backend, f.id, f));
  const byId = new Map(found.map((f) => [f.id, f]));
  return names.map((name) => formatFlag(backend, name, byId.get(name)));
}

export async function setFlags(
  flags: FlagStore,
  backend: string,
  assignments: ReadonlyArray<readonly [string, string | null]>,
  clock: Clock = systemClock,
): Promise<string[]> {
  const lines: string[] = [];
  for (const [id, value] of assignments)
    lines.push(formatFlag(backend, id, await flags.set(backend, id, value, nowFractionalSeconds(clock))));
  return lines;
}

/** Pausing stops pending jobs from starting; running jobs carry on. */
export async function setPaused(
  flags: FlagStore,
  backend: string,
  on: boolean,
  clock: Clock = systemClock,
): Promise<string[]> {
  return setFlags(flags, backend, [[Flag.Paused, on ? "true" : null]], clock);
}

/**
 * Manual database maintenance: `on` puts the backend in maintenance mode and stops the scheduled status checks from
 * ending it; with `disableChecks` the checks stop altogether. `off` clears all three flags.
 */
export async function setDbMaintenance(
  flags: FlagStore,
  backend: string,
  on: boolean,
  disableChecks = false,
): Promise<string[]> {
  return setFlags(flags, backend, [
    [Flag.Mode, on ? DB_MAINTENANCE_MODE : null],
    [Flag.ManualDbMaintenance, on ? "on" : null],
    [Flag.DbMaintenanceChecksDisabled, on && disableChecks ? "true" : null],
  ]);
}
