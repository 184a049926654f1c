import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameReader, LogTail, omissionNote } from "../../../src/agent/runtime/log-tail.js";

const frame = (stream: number, payload: Buffer) => {
  const header = Buffer.alloc(8);
  header.writeUInt8(stream, 0);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

/** `bytes` cut at the given offsets (sorted, deduplicated, within range). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    pieces.push(bytes.subarray(start, point));
    start = point;
  }
  return pieces;
}

function read(chunks: Buffer[]): Array<[number, string]> {
  const out: Array<[number, Buffer[]]> = [];
  const reader = new FrameReader((stream, data) => out.push([stream, [data]]));
  for (const chunk of chunks) reader.push(chunk);
  return out.map(([stream, data]) => [stream, Buffer.concat(data).toString("latin1")]);
}

describe("FrameReader (Docker's multiplexed log stream, read incrementally)", () => {
  it("hands on each frame's payload in order, with the stream it came from", () => {
    const raw = Buffer.concat([
      frame(1, Buffer.from("out 1\n")),
      frame(2, Buffer.from("err é\n")),
      frame(1, Buffer.from("out 2\n")),
    ]);
    const seen: Array<[number, string]> = [];
    new FrameReader((stream, data) => seen.push([stream, data.toString()])).push(raw);
    expect(seen).toEqual([
      [1, "out 1\n"],
      [2, "err é\n"],
      [1, "out 2\n"],
    ]);
  });

  it("hands on what arrived of a truncated last frame; a partial header hands on nothing", () => {
    const raw = Buffer.concat([
      frame(1, Buffer.from("whole\n")),
      frame(2, Buffer.from("cut short")).subarray(0, 12),
    ]);
    expect(read([raw]).map(([, text]) => text)).toEqual(["whole\n", "cut "]);
    expect(read([frame(1, Buffer.from("x")).subarray(0, 5)])).toEqual([]);
  });

  it("announces a 4 GiB frame without holding it: only what arrives is handed on", () => {
    const header = Buffer.alloc(8);
    header.writeUInt8(1, 0);
    header.writeUInt32BE(0xffffffff, 4);
    let seen = 0;
    const reader = new FrameReader((_stream, data) => {
      seen += data.length;
    });
    reader.push(header);
    for (let i = 0; i < 16; i++) reader.push(Buffer.alloc(1 << 20, 0x61));
    expect(seen).toBe(16 << 20);
  });

  it("property: any split of any frames into chunks gives each stream's bytes unchanged", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(1, 2), fc.uint8Array({ maxLength: 40 })), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, cuts) => {
          const raw = Buffer.concat(frames.map(([stream, data]) => frame(stream, Buffer.from(data))));
          const byStream = (pieces: Array<[number, string]>, stream: number) =>
            pieces
              .filter(([s]) => s === stream)
              .map(([, text]) => text)
              .join("");
          const got = read(split(raw, cuts));
          const want: Array<[number, string]> = frames.map(([s, d]) => [
            s,
            Buffer.from(d).toString("latin1"),
          ]);
          expect(byStream(got, 1)).toBe(byStream(want, 1));
          expect(byStream(got, 2)).toBe(byStream(want, 2));
        },
      ),
    );
  });
});

describe("LogTail (a job's output, bounded)", () => {
  const limits = { maxBytes: 100, maxLines: 5 };

  it("keeps everything, with no note, while within the limits", () => {
    const tail = new LogTail(limits);
    tail.push(Buffer.from("a\nb\n"));
    tail.push(Buffer.from("c"));
    expect(tail.text()).toBe("a\nb\nc");
  });

  it("keeps the last bytes of a line with no newline, the rest counted in a note", () => {
    const tail = new LogTail(limits);
    for (let i = 0; i < 50; i++) tail.push(Buffer.from("x".repeat(99) + String(i % 10)));
    const text = tail.text();
    expect(text).toBe(`${omissionNote(4900, limits)}${"x".repeat(99)}9`);
    expect(text.split("\n")[0]).toBe(
      "[… 4,900 bytes of earlier output were left out of this log: it keeps the job's last 5 lines, at most 100 bytes (JOB_LOG_MAX_BYTES) …]",
    );
  });

  it("keeps the last lines, counting the lines left out as bytes left out", () => {
    const tail = new LogTail(limits);
    tail.push(Buffer.from("1\n2\n3\n4\n5\n6\n7\n"));
    expect(tail.text()).toBe(`${omissionNote(4, limits)}3\n4\n5\n6\n7\n`);
  });

  it("starts at a whole character when the cut falls inside one", () => {
    const tail = new LogTail({ maxBytes: 5, maxLines: 5 });
    tail.push(Buffer.from("ééé"));
    expect(tail.text()).toBe(`${omissionNote(2, { maxBytes: 5, maxLines: 5 })}éé`);
  });

  it("counts bytes skipped before it (a rotated-away log file)", () => {
    const tail = new LogTail(limits);
    tail.skip(1000);
    tail.push(Buffer.from("last\n"));
    expect(tail.text()).toBe(`${omissionNote(1000, limits)}last\n`);
  });

  it("property: over any chunking, keeps exactly the bytes' tail and counts the rest", () => {
    fc.assert(
      fc.property(
        fc
          .uint8Array({ maxLength: 600 })
          .map((bytes) => Buffer.from(bytes.map((b) => (b % 3 === 0 ? 10 : 97)))),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 20 }),
        (bytes, cuts, maxBytes, maxLines) => {
          const tail = new LogTail({ maxBytes, maxLines });
          for (const piece of split(bytes, cuts)) tail.push(piece);
          let kept = bytes.subarray(Math.max(0, bytes.length - maxBytes)).toString("latin1");
          const lines = kept.split(/(?<=\n)/);
          if (lines.length > maxLines) kept = lines.slice(-maxLines).join("");
          const dropped = bytes.length - kept.length;
          expect(tail.text()).toBe(
            dropped > 0 ? `${omissionNote(dropped, { maxBytes, maxLines })}${kept}` : kept,
          );
        },
      ),
    );
  });
});
