/** `GET backend/status/`: the flags job-server shows about each backend the token may see (reference §7.2). */
import type { Db } from "../../db/index.js";
import { flagsReader } from "../../db/queries/backend-flags.js";
import { DB_MAINTENANCE_MODE, Flag, type FlagValue } from "../../domain/flags.js";
import { isoFromSeconds } from "../iso-time.js";

const SHOWN_FLAGS = [Flag.LastSeenAt, Flag.Paused, Flag.Mode, Flag.ManualDbMaintenance];

function since(flag: FlagValue | undefined): string | null {
  return flag ? isoFromSeconds(flag.timestamp) : null;
}

/**
 * The endpoint's answer for a token's backends, from one flags query; `since` is when a flag last changed value,
 * even to null.
 */
export function backendStatus(db: Db): (backends: readonly string[]) => Promise<unknown> {
  const readFlags = flagsReader(db, SHOWN_FLAGS);
  return async (backends) => {
    const flags = new Map<string, FlagValue>();
    for (const flag of await readFlags()) flags.set(`${flag.backend}\n${flag.id}`, flag);
    return {
      backends: backends.map((slug) => {
        const flag = (id: Flag) => flags.get(`${slug}\n${id}`);
        const paused = flag(Flag.Paused);
        const mode = flag(Flag.Mode);
        const inMaintenance = mode?.value === DB_MAINTENANCE_MODE;
        return {
          slug,
          last_seen: since(flag(Flag.LastSeenAt)),
          paused: { status: paused?.value === "true" ? "on" : "off", since: since(paused) },
          db_maintenance: {
            status: inMaintenance ? "on" : "off",
            since: since(mode),
            type: inMaintenance
              ? flag(Flag.ManualDbMaintenance)?.value === "on"
                ? "manual"
                : "scheduled"
              : null,
          },
        };
      }),
    };
  };
}
