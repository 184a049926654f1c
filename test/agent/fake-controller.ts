/**
 * A test double of the controller's Task API on 127.0.0.1 (until the agent is run against the real controller in
 * the integration tests): it serves a list of active tasks, records every request, and drops a task from the
 * list once an update marks it complete, as the controller does.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { AgentTask, TaskUpdate } from "../../src/domain/task.js";

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

export class FakeController {
  readonly requests: RecordedRequest[] = [];
  readonly updates: TaskUpdate[] = [];
  /** Active tasks, served in this order. */
  tasks: AgentTask[] = [];
  /** When set, every request is answered with this status (and an error body). */
  failWith: number | null = null;
  private server: Server | null = null;
  url = "";

  constructor(
    readonly backend = "test",
    readonly token = "test-token",
  ) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(([status, body]) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** The updates of one task, in order. */
  updatesOf(taskId: string): TaskUpdate[] {
    return this.updates.filter((u) => u.task_id === taskId);
  }

  stagesOf(taskId: string): string[] {
    return this.updatesOf(taskId).map((u) => u.stage);
  }

  private async handle(req: IncomingMessage): Promise<[number, unknown]> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const path = new URL(req.url ?? "/", "http://x").pathname;
    this.requests.push({
      method: req.method ?? "",
      path,
      authorization: req.headers.authorization,
      contentType: req.headers["content-type"],
      body,
    });
    if (this.failWith !== null) return [this.failWith, { error: "Error updating task" }];
    if (req.headers.authorization !== this.token) return [401, { error: "Unauthorized" }];
    if (req.method === "GET" && path === `/${this.backend}/tasks/`) return [200, { tasks: this.tasks }];
    if (req.method === "POST" && path === `/${this.backend}/task/update/`) {
      const update = JSON.parse(new URLSearchParams(body).get("payload") ?? "null") as TaskUpdate;
      this.updates.push(update);
      if (update.complete) this.tasks = this.tasks.filter((t) => t.id !== update.task_id);
      return [200, { response: "Update successful" }];
    }
    return [404, { error: "Not found" }];
  }
}
