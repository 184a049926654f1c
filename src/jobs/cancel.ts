/**
 * Cancelling a RAP's actions, behind both `POST rap/cancel/` and `rap cancel` (reference/controller.md §7.8). Only
 * unfinished jobs are marked (DESIGN DECISIONS 3): finished ones keep their state, completion time and place in
 * the workspace history. The request itself is the domain's (`cancelRequest`); the scheduler does the real stopping
 * on its next pass, through the one transition.
 */
import type { JobStore } from "../db/storage.js";
import { cancelRequest } from "../domain/transition.js";

export type CancelOutcome =
  /** The RAP has no job on these backends. */
  | { readonly kind: "rap-not-found" }
  /** Some actions have no job in the RAP (sorted, once each); nothing was cancelled. */
  | { readonly kind: "actions-not-found"; readonly notFound: readonly string[] }
  /** `jobs`: how many unfinished jobs were marked cancelled (0 when all had finished). */
  | { readonly kind: "cancelled"; readonly jobs: number };

/**
 * Cancels the jobs of these actions of a RAP (`"all"`: every action it has), on the given backends only; nothing at
 * all if one of the actions has no job in the RAP.
 */
export async function cancelActions(
  jobs: JobStore,
  rapId: string,
  actions: readonly string[] | "all",
  backends: readonly string[],
  now: number,
): Promise<CancelOutcome> {
  const existing = await jobs.actionsOfRap(rapId, backends);
  if (existing.size === 0) return { kind: "rap-not-found" };
  const requested = actions === "all" ? [...existing] : actions;
  const notFound = [...new Set(requested)].filter((action) => !existing.has(action)).sort();
  if (notFound.length > 0) return { kind: "actions-not-found", notFound };
  return {
    kind: "cancelled",
    jobs: await jobs.markCancelled(rapId, requested, backends, cancelRequest(now)),
  };
}
