import { randomFillSync } from "node:crypto";

const ID_BYTES = 16 + 8;
// Random bytes are drawn in bulk: a RAP of thousands of jobs would otherwise spend most of its planning time in
// one small randomBytes call per id.
const pool = Buffer.alloc(ID_BYTES * 256);
let offset = pool.length;

function randomIdBytes(): Buffer {
  if (offset + ID_BYTES > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return bytes;
}

/**
 * A fresh W3C trace context for a job's root span: `{"traceparent": "00-<trace id>-<span id>-01"}`. Stored on the
 * job at creation so every later span of the job joins the same trace.
 */
export function newTraceContext(): { traceparent: string } {
  const bytes = randomIdBytes();
  return { traceparent: `00-${bytes.toString("hex", 0, 16)}-${bytes.toString("hex", 16, ID_BYTES)}-01` };
}
