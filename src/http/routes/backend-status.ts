/** `GET backend/status/`: the flags job-server shows about each backend the token may see (reference §7.2). */
import type { Db } from "../../db/index.js";
import { getFlagsForBackends } from "../../db/queries/flags.js";
import { DB_MAINTENANCE_MODE, Flag, type FlagValue } from "../../domain/flags.js";
import { isoFromUnixSeconds } from "../../domain/time.js";

const SHOWN_FLAGS = [Flag.LastSeenAt, Flag.Paused, Flag.Mode, Flag.ManualDbMaintenance];

function since(flag: FlagValue | undefined): string | null {
  return flag ? isoFromUnixSeconds(flag.timestamp) : null;
}

/** One flags query for all the backends; `since` is when a flag last changed value, even to null. */
export async function backendStatus(db: Db, backends: readonly string[]) {
  const flags = new Map<string, FlagValue>();
  for (const flag of await getFlagsForBackends(db, backends, SHOWN_FLAGS)) {
    flags.set(`${flag.backend}\n${flag.id}`, flag);
  }
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
}
