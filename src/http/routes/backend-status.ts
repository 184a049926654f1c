/** `GET backend/status/`: the flags job-server shows about each backend the token may see (reference §7.2). */
import type { Storage } from "../../db/storage.js";
import { DB_MAINTENANCE_MODE, Flag, type FlagValue } from "../../domain/flags.js";
import { toAsciiJson } from "../../python/ascii-json.js";
import { isoOrNullFromUnixSeconds } from "../../python/datetime.js";

const SHOWN_FLAGS = [Flag.LastSeenAt, Flag.Paused, Flag.Mode, Flag.ManualDbMaintenance];

function since(flag: FlagValue | undefined): string | null {
  // A bad stored time reads as "never" rather than failing every poll.
  return flag ? isoOrNullFromUnixSeconds(flag.timestamp) : null;
}

/**
 * The endpoint's answer (JSON text) for a token's backends, from one flags query; `since` is when a flag last
 * changed value, even to null.
 *
 * Answers are kept until the database changes (`changeStamp`): job-server and monitors poll this endpoint far
 * more often than flags change, and a poll that finds nothing changed then costs no query. Any write, from this
 * process or another (`rap pause`, `rap flags set`), is seen by the next request.
 */
export function backendStatus(storage: Storage): (backends: readonly string[]) => Promise<string> {
  const readFlags = storage.flags.reader(SHOWN_FLAGS);
  let answersStamp: string | undefined;
  const answers = new Map<string, string>();
  return async (backends) => {
    const stamp = storage.changeStamp();
    if (stamp === undefined || stamp !== answersStamp) {
      answers.clear();
      answersStamp = stamp;
    }
    const key = backends.join("\n");
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = toAsciiJson(render(backends, await readFlags()));
      if (stamp !== undefined) answers.set(key, answer);
    }
    return answer;
  };
}

function render(backends: readonly string[], rows: readonly FlagValue[]) {
  const flags = new Map<string, FlagValue>();
  for (const flag of rows) flags.set(`${flag.backend}\n${flag.id}`, flag);
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
