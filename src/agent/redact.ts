/**
 * What the controller may see of a job's results (reference/agent.md §2.7). File names can be sensitive, so the
 * lists of outputs and unmatched names stay on the backend; only flags leave it, and a message or hint that could
 * name files is blanked.
 */
import { pyTruthy } from "../python/truth.js";

export function redactResults(results: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!results || Object.keys(results).length === 0) return results;
  const {
    outputs: _outputs,
    unmatched_outputs: unmatchedOutputs,
    unmatched_patterns: unmatchedPatterns,
    level4_excluded_files: level4Excluded,
    ...rest
  } = results;
  const redacted: Record<string, unknown> = { ...rest };
  redacted.has_unmatched_outputs = pyTruthy(unmatchedOutputs);
  redacted.has_unmatched_patterns = pyTruthy(unmatchedPatterns);
  if (redacted.has_unmatched_outputs || redacted.has_unmatched_patterns) {
    redacted.status_message = "";
    redacted.hint = "";
  }
  redacted.has_level4_excluded_files = pyTruthy(level4Excluded);
  return redacted;
}
