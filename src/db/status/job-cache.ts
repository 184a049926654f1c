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

  /** The JSON of the job of this key (./cached-reader.ts) if it was rendered at this stamp. */
  get(key: string, stamp: string): Uint8Array | undefined {
    const entry = this.entries.get(key);
    return entry?.stamp === stamp ? entry.json : undefined;
  }

  set(key: string, stamp: string, json: Uint8Array): void {
    this.delete(key);
    if (json.length > this.budgetBytes) return;
    this.entries.set(key, { stamp, json });
    this.bytes += json.length;
    if (this.bytes > this.budgetBytes) this.evict();
  }

  /**
   * Lets the oldest entries go until a tenth of the budget is free, in one walk: a Map's iterator starts by
   * skipping the places of deleted entries, so a walk for every entry kept would cost ever more.
   */
  private evict(): void {
    const target = this.budgetBytes * 0.9;
    for (const oldest of this.entries.keys()) {
      if (this.bytes <= target) break;
      this.delete(oldest);
    }
  }

  forget(keys: Iterable<string>): void {
    for (const key of keys) this.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  /** How many jobs are kept, and their bytes. */
  get size(): { jobs: number; bytes: number } {
    return { jobs: this.entries.size, bytes: this.bytes };
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.json.length;
  }
}
