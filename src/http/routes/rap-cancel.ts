/** `POST rap/cancel/` (reference §7.8; DESIGN DECISIONS 3: jobs that already finished are left as they are). */
import type { JobStore } from "../../db/storage.js";
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
  const existing = await jobs.actionsOfRap(request.rapId, backends);
  if (existing.size === 0) throw new RapNotFoundError(request.rapId);
  const notFound = [...new Set(request.actions)].filter((action) => !existing.has(action)).sort();
  if (notFound.length > 0) throw new ActionsNotFoundError(request.rapId, notFound);
  await jobs.markCancelled(request.rapId, request.actions, backends, now);
  const count = request.actions.length;
  return { result: "Success", details: `${count} actions cancelled`, count };
}
