/** `POST rap/cancel/` (reference §7.8): the answers for src/jobs/cancel.ts's outcomes. */
import type { JobStore } from "../../db/storage.js";
import { cancelActions } from "../../jobs/cancel.js";
import { ActionsNotFoundError, RapNotFoundError } from "../errors.js";

export interface CancelRequest {
  rapId: string;
  actions: readonly string[];
}

/**
 * Cancels the actions' jobs, or nothing at all if one of them has no job in this RAP. The answer counts the
 * actions asked for, duplicates included, as the reference does; the controller loop does the real stopping.
 */
export async function cancelRap(
  jobs: JobStore,
  request: CancelRequest,
  backends: readonly string[],
  now: number,
) {
  const outcome = await cancelActions(jobs, request.rapId, request.actions, backends, now);
  if (outcome.kind === "rap-not-found") throw new RapNotFoundError(request.rapId);
  if (outcome.kind === "actions-not-found") throw new ActionsNotFoundError(request.rapId, outcome.notFound);
  const count = request.actions.length;
  return { result: "Success", details: `${count} actions cancelled`, count };
}
