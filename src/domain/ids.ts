import { createHash, randomBytes } from "node:crypto";

const BASE32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** RFC 4648 base32 without padding, lowercase. 10 bytes encode to exactly 16 characters. */
function base32Lower(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The job id the reference derives from a RAP and an action: SHA-1 of `rap_id + "\n" + action`, first 10 bytes,
 * base32, lowercase. Deterministic, so re-submitting a RAP yields the same ids.
 */
export function deterministicJobId(rapId: string, action: string): string {
  const digest = createHash("sha1").update(`${rapId}\n${action}`, "utf8").digest();
  return base32Lower(digest.subarray(0, 10));
}

/** A random 16-character id (10 random bytes, base32, lowercase), as used for RAP ids made by `rap add-job`. */
export function randomId(): string {
  return base32Lower(randomBytes(10));
}
