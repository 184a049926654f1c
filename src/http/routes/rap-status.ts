/** `POST rap/status/`: every job of the requested RAPs on the token's backends (reference §7.9). */
import type { FastifyBaseLogger } from "fastify";
import type { StatusReader } from "../../db/storage.js";
import { statusBody } from "../status/body.js";

/**
 * The response body, as ASCII JSON bytes. Jobs come by rap id (sorted), then in creation order, however the work is
 * divided. Ids with no job on the token's backends are "unrecognised", whether they exist elsewhere or not; they
 * are listed once each, in request order.
 */
export async function rapStatus(
  reader: StatusReader,
  rapIds: readonly string[],
  backends: readonly string[],
  reportUnreadableTimes: (times: readonly string[]) => void = () => {},
): Promise<Buffer> {
  const unique = [...new Set(rapIds)];
  const rendered = await reader.read([...unique].sort(), backends);
  const found = new Set(rendered.flatMap((part) => part.rapIds));
  const unreadable = rendered.flatMap((part) => part.unreadableTimes);
  if (unreadable.length > 0) reportUnreadableTimes(unreadable);
  return statusBody(
    rendered.map((part) => part.json),
    unique.filter((id) => !found.has(id)),
  );
}

/** Distinct bad times logged at most: past this, a database full of them is not worth a log line per poll. */
const MAX_LOGGED_TIMES = 1000;

/**
 * Logs each stored time rap/status could not show once, not on every poll that shows it again (job-server polls
 * every RAP it is waiting for every minute).
 */
export function unreadableTimesLogger(log: FastifyBaseLogger): (times: readonly string[]) => void {
  const logged = new Set<string>();
  return (times) => {
    const fresh = [...new Set(times)].filter((time) => !logged.has(time));
    if (fresh.length === 0 || logged.size >= MAX_LOGGED_TIMES) return;
    for (const time of fresh) logged.add(time);
    log.warn(
      { times: fresh.slice(0, 10), count: fresh.length },
      "rap/status shows stored job times that are no valid time as null: the database holds bad values",
    );
  };
}
