/**
 * Jobs' printed JSON kept between `POST rap/status/` requests, each under the stamp of the row it shows
 * (./cached-reader.ts). Bounded by bytes: past its budget the entries rendered longest ago go first.
 */
import type { ChangeMark } from "../storage.js";

/** The default budget: the printed JSON of some 200,000 jobs (the corpus's largest project is 2,191). */
export const DEFAULT_STATUS_CACHE_BYTES = 128 * 1024 * 1024;

interface Entry {
  stamp: string;
  json: Uint8Array;
}

export class RenderedJobCache {
  // A Map keeps insertion order, and an entry is set again when its job is rendered again: the first is the oldest.
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /** Where the task writes not yet read for this cache begin; undefined before the first request. */
  mark: ChangeMark | undefined;

  constructor(readonly budgetBytes = DEFAULT_STATUS_CACHE_BYTES) {}

  /** The job's JSON if it was rendered at this stamp. */
  get(id: string, stamp: string): Uint8Array | undefined {
    const entry = this.entries.get(id);
    return entry?.stamp === stamp ? entry.json : undefined;
  }

  set(id: string, stamp: string, json: Uint8Array): void {
    this.delete(id);
    if (json.length > this.budgetBytes) return;
    this.entries.set(id, { stamp, json });
    this.bytes += json.length;
    for (const oldest of this.entries.keys()) {
      if (this.bytes <= this.budgetBytes) break;
      this.delete(oldest);
    }
  }

  forget(ids: Iterable<string>): void {
    for (const id of ids) this.delete(id);
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  /** How many jobs are kept, and their bytes. */
  get size(): { jobs: number; bytes: number } {
    return { jobs: this.entries.size, bytes: this.bytes };
  }

  private delete(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.bytes -= entry.json.length;
  }
}
