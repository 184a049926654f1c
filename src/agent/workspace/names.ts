/**
 * Output file names as a researcher's job made them: any bytes but `/` and NUL. Pure: which names the agent refuses
 * to save, and how a name is shown in a job's log so that it can never forge a line (a newline, an ANSI escape) or
 * hide what it is (bytes that are not UTF-8).
 */
import { isUtf8 } from "node:buffer";

/**
 * Why a matched output is not saved, or null when it is. A name that is not valid UTF-8 cannot be a key of the
 * manifest or of the job's metadata (both JSON); a backslash names another path once the workspace is read on
 * Windows (output checking), and the agent refuses it as an input to later jobs.
 */
export function nameRefusal(path: string, rawPath: Buffer | undefined): string | null {
  if (rawPath !== undefined) return "its name is not valid UTF-8";
  if (path.includes("\\")) return "its name contains a backslash";
  return null;
}

const IN_THE_WAY = "a directory or file of the same name is in the way in the workspace";
const COPY_REFUSALS: Readonly<Record<string, string>> = {
  ENAMETOOLONG: "its path is too long to save in the workspace",
  EISDIR: IN_THE_WAY,
  ENOTDIR: IN_THE_WAY,
  EEXIST: IN_THE_WAY,
};

/** The error codes of a copy that are the file's name or place (copyRefusal), not the platform. */
export const REFUSED_COPY_CODES: readonly string[] = Object.keys(COPY_REFUSALS);

/** Why a copy failing with this error code is the file's name or place, not the platform; null otherwise. */
export function copyRefusal(code: string | undefined): string | null {
  return code !== undefined && Object.hasOwn(COPY_REFUSALS, code) ? COPY_REFUSALS[code]! : null;
}

/**
 * The name with `\` doubled, control characters (C0, DEL, C1), line and paragraph separators and bidirectional
 * overrides escaped (`\n`, `\xNN`, `\uNNNN`), and every byte that is not part of valid UTF-8 shown as `\xNN`.
 * An ordinary name comes back unchanged.
 */
export function shownName(name: string | Buffer): string {
  if (typeof name === "string") return escapeText(name);
  if (isUtf8(name)) return escapeText(name.toString("utf8"));
  let shown = "";
  let i = 0;
  while (i < name.length) {
    const length = sequenceLength(name[i]!);
    const sequence = name.subarray(i, i + length);
    if (length > 0 && sequence.length === length && isUtf8(sequence)) {
      shown += escapeText(sequence.toString("utf8"));
      i += length;
    } else {
      shown += `\\x${hex2(name[i]!)}`;
      i += 1;
    }
  }
  return shown;
}

const NAMED_ESCAPES: Readonly<Record<string, string>> = {
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\\": "\\\\",
};

// C0 and C1 controls, DEL, U+2028/U+2029, and the bidirectional embeddings, overrides and isolates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const UNSAFE = /[\\\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeText(text: string): string {
  return text.replace(UNSAFE, (char) => {
    const named = NAMED_ESCAPES[char];
    if (named) return named;
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${hex2(code)}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** The length of the UTF-8 sequence `lead` starts, 0 for a byte that cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
