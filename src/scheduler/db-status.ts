/**
 * What a DBSTATUS result means (reference/controller.md §4.5 step 5, §5): the backend's `mode` flag becomes the
 * status the agent found (`db-maintenance` or `""`), unless maintenance was set by hand, which keeps the mode. It
 * applies in the transaction that records the agent's update, as the reference's update handler does, so the mode
 * has changed before the next pass reads the flags (and `db_maintenance.since` is the report's time).
 */
import type { Stores } from "../db/storage.js";
import { type Clock, nowFractionalSeconds } from "../domain/clock.js";
import { Flag, isTruthyFlag } from "../domain/flags.js";

export type DbStatusRule = (
  stores: Stores,
  backend: string,
  results: Record<string, unknown>,
) => Promise<void>;

export function dbStatusRule(clock: Clock): DbStatusRule {
  return async (stores, backend, results) => {
    const manual = await stores.flags.get(backend, Flag.ManualDbMaintenance);
    const status = (results.results as Record<string, unknown> | null | undefined)?.status;
    if (!isTruthyFlag(manual?.value) && typeof status === "string")
      await stores.flags.set(backend, Flag.Mode, status, nowFractionalSeconds(clock));
  };
}
