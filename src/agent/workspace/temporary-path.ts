import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";

/**
 * Where a write of `dest` puts its contents before the rename: `.{16 hex}.tmp` beside dest (same filesystem, so
 * the rename is atomic), the hex from dest's name. A fixed length, so a name of 255 bytes still has one; and the
 * same for every write of dest, so what a killed write left is overwritten and renamed away by the next one.
 */
export function temporaryPath(dest: string): string {
  const tag = createHash("sha256").update(basename(dest)).digest("hex").slice(0, 16);
  return join(dirname(dest), `.${tag}.tmp`);
}
