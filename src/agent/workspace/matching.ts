/**
 * Which files of a finished job's volume are its outputs (reference/agent.md §3.5), pure: every pattern of the
 * output spec globbed over the listing, less the files whose names the agent refuses to save (nameRefusal).
 */
import { globEntries } from "./glob.js";
import type { NamedRow } from "./logs.js";
import { nameRefusal } from "./names.js";
import { safeRelativePath } from "./paths.js";
import type { ListedSource, VolumeFile } from "./volume.js";

export interface MatchedOutputs {
  /** File → privacy level (a file several patterns match gets the last one's level), refused names left out. */
  readonly outputs: Record<string, string>;
  /** Each pattern with the files it matched that may be saved, in the output spec's order. */
  readonly patterns: ReadonlyArray<readonly [pattern: string, files: readonly string[]]>;
  /** Matched files refused for their name, with why, each once. */
  readonly refused: readonly NamedRow[];
  /** Each output's apparent size in bytes. */
  readonly sizes: Readonly<Record<string, number>>;
  /** Each output's contents as the listing saw them (what is copied). */
  readonly sources: Readonly<Record<string, ListedSource>>;
}

/** Throws UnsafePathError for a pattern that could name a path outside the volume. */
export function matchOutputs(
  outputSpec: Readonly<Record<string, string>>,
  listing: readonly VolumeFile[],
): MatchedOutputs {
  const outputs: Record<string, string> = {};
  const sizes: Record<string, number> = {};
  const sources: Record<string, ListedSource> = {};
  const patterns: Array<[string, string[]]> = [];
  const refused = new Map<VolumeFile, string>();
  for (const [pattern, level] of Object.entries(outputSpec)) {
    safeRelativePath(pattern, "output pattern");
    const files: string[] = [];
    for (const entry of globEntries(pattern, listing)) {
      const refusal = nameRefusal(entry.path, entry.rawPath);
      if (refusal !== null) {
        refused.set(entry, refusal);
        continue;
      }
      files.push(entry.path);
      outputs[entry.path] = level;
      sizes[entry.path] = entry.size;
      if (entry.source) sources[entry.path] = entry.source;
    }
    patterns.push([pattern, files]);
  }
  return {
    outputs,
    patterns,
    refused: [...refused].map(([entry, reason]) => [entry.rawPath ?? entry.path, reason] as const),
    sizes,
    sources,
  };
}

/**
 * When the outputs' apparent sizes total more than `limit` bytes (0: no limit), every output with why it is not
 * saved; otherwise null. Apparent sizes: a sparse file counts its holes, as any copy of it elsewhere will.
 */
export function overLimit(sizes: Readonly<Record<string, number>>, limit: number): NamedRow[] | null {
  const total = Object.values(sizes).reduce((sum, size) => sum + size, 0);
  if (limit === 0 || total <= limit) return null;
  const why = `the job's outputs total ${total} bytes, over this backend's limit of ${limit} (MAX_JOB_OUTPUT_BYTES)`;
  return Object.entries(sizes).map(([file, size]) => [file, `${size} bytes: ${why}`] as const);
}
