import { RuntimeError } from "./types.js";

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/**
 * Bytes of a memory limit in Docker's syntax (`--memory 4G`, `512m`, `1.5g`, `6M`, `100kb`, `2GiB`): a decimal
 * number, an optional binary unit letter in either case, an optional `i` and `b`. Fractions of a byte are dropped,
 * as Docker does. Throws RuntimeError for anything else, naming the value.
 */
export function parseMemoryLimit(text: string): number {
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(text.trim());
  if (!match)
    throw new RuntimeError(`invalid memory limit ${JSON.stringify(text)}: expected e.g. 512m or 4G`);
  const unit = UNITS[(match[2] ?? "").toLowerCase()]!;
  return Math.floor(Number(match[1]) * unit);
}
