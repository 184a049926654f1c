/** Bytes of a project file → text, as the reference's YAML reader decodes them (UTF-8, or UTF-16 with a BOM). */
import { YamlError } from "./yaml/index.js";

export function decodeProjectText(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le").decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder("utf-16be").decode(bytes.subarray(2));
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const { position, reason } = firstUtf8Error(bytes);
    const byte = (bytes[position] ?? 0).toString(16).padStart(2, "0");
    throw new YamlError(
      `'utf-8' codec can't decode byte #x${byte}: ${reason}\n  in "<byte string>", position ${position}`,
    );
  }
}

/** Where UTF-8 decoding fails and why, in Python's words. */
function firstUtf8Error(bytes: Uint8Array): { position: number; reason: string } {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] as number;
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead < 0x80) length = 1;
    else if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else {
      return { position: i, reason: "invalid start byte" };
    }
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k];
      if (next === undefined) return { position: i, reason: "unexpected end of data" };
      const min = k === 1 ? low : 0x80;
      const max = k === 1 ? high : 0xbf;
      if (next < min || next > max) return { position: i, reason: "invalid continuation byte" };
    }
    i += length;
  }
  return { position: 0, reason: "invalid start byte" };
}
