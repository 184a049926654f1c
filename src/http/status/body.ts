/** The `POST rap/status/` body around the jobs the status reader rendered (src/db/storage.ts `StatusReader`). */
import { asciiJson } from "../../python/ascii-json.js";

const COMMA = Buffer.from(",");

/** `{"jobs": [...], "unrecognised_rap_ids": [...]}` from the parts a StatusReader rendered, as ASCII JSON bytes. */
export function statusBody(jobLists: readonly Uint8Array[], unrecognisedRapIds: readonly string[]): Buffer {
  const parts: Uint8Array[] = [Buffer.from('{"jobs":[')];
  for (const list of jobLists) {
    if (list.length === 0) continue;
    if (parts.length > 1) parts.push(COMMA);
    parts.push(list);
  }
  parts.push(Buffer.from(`],"unrecognised_rap_ids":${asciiJson(JSON.stringify(unrecognisedRapIds))}}`));
  return Buffer.concat(parts);
}
