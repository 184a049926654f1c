/**
 * A job's output read as a bounded byte stream (pure, no I/O): whatever a job prints, the agent keeps at most the
 * last `maxBytes` bytes and `maxLines` lines of it, as the reference keeps the last lines (`docker logs --tail`),
 * and counts the rest. A job that prints 600 MB without a newline once made the agent build one string longer than
 * V8 allows and die; here nothing grows beyond the cap, however the bytes arrive.
 */

export interface LogLimits {
  /** JOB_LOG_MAX_BYTES. */
  readonly maxBytes: number;
  /** The reference's `--tail` (LOG_TAIL_LINES). */
  readonly maxLines: number;
}

const NEWLINE = 0x0a;

/** Keeps the last bytes pushed into it, within the limits; `text()` adds a note of what was left out. */
export class LogTail {
  private chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;

  constructor(private readonly limits: LogLimits) {}

  push(chunk: Buffer): void {
    const { maxBytes } = this.limits;
    if (chunk.length >= maxBytes) {
      this.dropped += this.kept + chunk.length - maxBytes;
      // A copy: a view would keep the whole (possibly huge) chunk alive.
      this.chunks = [Buffer.from(chunk.subarray(chunk.length - maxBytes))];
      this.kept = maxBytes;
      return;
    }
    this.chunks.push(chunk);
    this.kept += chunk.length;
    while (this.kept > maxBytes) {
      const first = this.chunks[0] as Buffer;
      const excess = this.kept - maxBytes;
      if (first.length <= excess) {
        this.chunks.shift();
        this.drop(first.length);
      } else {
        this.chunks[0] = first.subarray(excess);
        this.drop(excess);
      }
    }
  }

  /** Counts bytes left out before this reader saw the output (a log file already rotated away). */
  skip(bytes: number): void {
    this.dropped += bytes;
  }

  /** Bytes left out so far (before the line limit, which `text` applies). */
  get droppedBytes(): number {
    return this.dropped;
  }

  /** The kept output as UTF-8, preceded by a note when anything was left out. */
  text(): string {
    let bytes = Buffer.concat(this.chunks);
    let dropped = this.dropped;
    const lineStart = startOfLastLines(bytes, this.limits.maxLines);
    // A cut inside a multi-byte character starts at the next whole one.
    let start = lineStart;
    if (lineStart === 0 && dropped > 0) while (start < bytes.length && isContinuation(bytes[start])) start++;
    dropped += start;
    bytes = bytes.subarray(start);
    return dropped > 0
      ? `${omissionNote(dropped, this.limits)}${bytes.toString("utf8")}`
      : bytes.toString("utf8");
  }

  private drop(count: number): void {
    this.kept -= count;
    this.dropped += count;
  }
}

/** The line that says output was left out (the first line of such a log). */
export function omissionNote(droppedBytes: number, limits: LogLimits): string {
  const count = (n: number) => n.toLocaleString("en-US");
  return (
    `[… ${count(droppedBytes)} bytes of earlier output were left out of this log: it keeps the job's last ` +
    `${count(limits.maxLines)} lines, at most ${count(limits.maxBytes)} bytes (JOB_LOG_MAX_BYTES) …]\n`
  );
}

/** Where the last `maxLines` lines begin (a final line without a newline counts as one). */
function startOfLastLines(bytes: Buffer, maxLines: number): number {
  let lines = 0;
  // A trailing newline ends the last line rather than starting another.
  let position = bytes.length - (bytes[bytes.length - 1] === NEWLINE ? 2 : 1);
  while (position >= 0) {
    position = bytes.lastIndexOf(NEWLINE, position);
    if (position < 0) break;
    lines++;
    if (lines >= maxLines) return position + 1;
    position--;
  }
  return 0;
}

function isContinuation(byte: number | undefined): boolean {
  return byte !== undefined && (byte & 0xc0) === 0x80;
}

/**
 * Docker's multiplexed stream (a container without a TTY), read incrementally: frames of an 8-byte header — stream
 * type, three zero bytes, big-endian payload length — and the payload. Payload bytes are handed on as they arrive,
 * never gathered per frame, so a frame of any announced length costs no memory; only a header split across chunks
 * is held. A truncated last frame hands on what arrived.
 */
export class FrameReader {
  private header = Buffer.alloc(0);
  private remaining = 0;
  private stream = 0;

  constructor(private readonly onPayload: (stream: number, data: Buffer) => void) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining > 0) {
        const end = Math.min(chunk.length, offset + this.remaining);
        this.onPayload(this.stream, chunk.subarray(offset, end));
        this.remaining -= end - offset;
        offset = end;
        continue;
      }
      const take = Math.min(8 - this.header.length, chunk.length - offset);
      this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + take)]);
      offset += take;
      if (this.header.length === 8) {
        this.stream = this.header.readUInt8(0);
        this.remaining = this.header.readUInt32BE(4);
        this.header = Buffer.alloc(0);
      }
    }
  }
}
