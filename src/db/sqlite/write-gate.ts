/**
 * The threads of one process taking turns at SQLite's write lock, in the order they asked (a ticket lock in shared
 * memory).
 *
 * Why: SQLite makes a writer that finds the lock taken wait in its busy handler, which sleeps inside the call, and
 * better-sqlite3's calls are synchronous. On the controller's main thread that stalled every request (agents'
 * polls, job-server's status) for as long as the scheduler's thread kept writing, and the handler's sleeps (growing
 * to 100 ms) let the scheduler take the lock again and again before the waiting request did: under load, requests
 * waited seconds and some failed with "database is locked". Waiting here is asynchronous (Atomics.waitAsync), so
 * the event loop goes on, and a thread's turn comes after the writes asked for before it, never behind a queue-jumper.
 *
 * The gate is an agreement between threads sharing its memory, not a lock SQLite knows of: SQLite's own locking
 * still decides, so nothing depends on the gate for correctness. Other processes (a `rap` command, another
 * controller) do not take turns here; they meet SQLite's busy timeout as before. A turn that does not come within
 * `patienceMs` (a thread that died holding it, or a transaction far longer than any should be) is taken anyway, and
 * SQLite's busy handling decides between the two writers.
 */

/** Cells of the shared Int32Array. */
const NEXT_TICKET = 0;
const NOW_SERVING = 1;

export class WriteGate {
  private readonly cells: Int32Array;

  /** A gate over `buffer`: a new one (`WriteGate.create`), or another thread's (passed in workerData). */
  constructor(
    readonly buffer: SharedArrayBuffer,
    private readonly patienceMs: number,
  ) {
    this.cells = new Int32Array(buffer);
  }

  static create(patienceMs: number): WriteGate {
    return new WriteGate(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT), patienceMs);
  }

  /** Waits for this thread's turn; pass what it answers to `leave`. */
  async enter(): Promise<number> {
    const ticket = Atomics.add(this.cells, NEXT_TICKET, 1);
    const deadline = performance.now() + this.patienceMs;
    for (;;) {
      const serving = Atomics.load(this.cells, NOW_SERVING);
      // Differences, not comparisons: the counters wrap around together. At or past the ticket: a later waiter that
      // ran out of patience may have moved the turn on beyond it.
      if (((serving - ticket) | 0) >= 0) return ticket;
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        // Out of patience: the turn becomes this ticket's (unless it has moved meanwhile: look again).
        Atomics.compareExchange(this.cells, NOW_SERVING, serving, ticket);
        continue;
      }
      const wait = Atomics.waitAsync(this.cells, NOW_SERVING, serving, remaining);
      if (wait.async) await wait.value;
    }
  }

  /** Ends the turn `ticket` had, handing it to the next in line (a turn another already took over stays theirs). */
  leave(ticket: number): void {
    if (Atomics.compareExchange(this.cells, NOW_SERVING, ticket, (ticket + 1) | 0) === ticket)
      Atomics.notify(this.cells, NOW_SERVING);
  }
}
