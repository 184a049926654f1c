/**
 * A job's output cut into lines as its bytes arrive (pure): for live logs, which travel and are shown a line at a
 * time. A line longer than `maxLineBytes` is given in pieces, so one that never ends costs no more than that.
 */
const NEWLINE = 0x0a;

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** The lines this chunk completes (without their newline). */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      const stop = end < 0 ? chunk.length : end;
      let from = start;
      // A long line is given in pieces of maxLineBytes.
      while (this.pendingBytes + (stop - from) > this.maxLineBytes) {
        const take = this.maxLineBytes - this.pendingBytes;
        lines.push(this.take(chunk.subarray(from, from + take)));
        from += take;
      }
      if (end < 0) {
        if (from < chunk.length) this.keep(chunk.subarray(from));
        return lines;
      }
      lines.push(this.take(chunk.subarray(from, end)));
      start = end + 1;
    }
  }

  /** The last line, when the output did not end with a newline; null otherwise. */
  end(): string | null {
    return this.pendingBytes > 0 ? this.take(Buffer.alloc(0)) : null;
  }

  private keep(bytes: Buffer): void {
    this.pending.push(Buffer.from(bytes));
    this.pendingBytes += bytes.length;
  }

  private take(last: Buffer): string {
    const line = Buffer.concat([...this.pending, last]).toString("utf8");
    this.pending = [];
    this.pendingBytes = 0;
    return line;
  }
}

/** The lines of a stream of output chunks, as they complete, then its unterminated last line. */
export async function* linesOf(chunks: AsyncIterable<Buffer>, maxLineBytes: number): AsyncIterable<string> {
  const splitter = new LineSplitter(maxLineBytes);
  for await (const chunk of chunks) yield* splitter.push(chunk);
  const last = splitter.end();
  if (last !== null) yield last;
}
