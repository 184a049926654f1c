/**
 * Server-Sent Events as the operator endpoints write them and `rap logs -f --controller` reads them (pure): each
 * event a name and one line of JSON data (JSON never holds a raw newline, so one `data:` line always suffices).
 */

export interface SseEvent {
  readonly event: string;
  readonly data: unknown;
}

export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Reads a stream of text into events, however it is cut; comments (`: keep-alive`) are skipped. */
export class SseParser {
  private buffer = "";

  push(text: string): SseEvent[] {
    this.buffer += text.replace(/\r\n?/g, "\n");
    const events: SseEvent[] = [];
    for (let end = this.buffer.indexOf("\n\n"); end >= 0; end = this.buffer.indexOf("\n\n")) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length > 0) events.push({ event, data: JSON.parse(data.join("\n")) });
    }
    return events;
  }
}
