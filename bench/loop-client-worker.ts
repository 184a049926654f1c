/**
 * bench:loop's client (./loop.ts), on a thread of its own so that its own work never waits behind the controller's
 * event loop: one request after another over loopback (one keep-alive connection), alternating `GET /` and
 * `GET /{backend}/tasks/`, for the given time; posts back each kind's latencies (ms).
 */
import { Agent, request } from "node:http";
import { parentPort, workerData } from "node:worker_threads";

export interface ClientOrder {
  port: number;
  backend: string;
  agentToken: string;
  seconds: number;
}

export interface ClientLatencies {
  health: number[];
  tasks: number[];
  /** Every answer's status was 200. */
  ok: boolean;
}

const { port, backend, agentToken, seconds } = workerData as ClientOrder;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function get(path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((done, fail) => {
    const req = request({ host: "127.0.0.1", port, path, agent, headers }, (res) => {
      res.resume();
      res.on("end", () => done(res.statusCode ?? 0));
    });
    req.on("error", fail);
    req.end();
  });
}

async function timed(path: string, headers?: Record<string, string>): Promise<{ ms: number; ok: boolean }> {
  const started = performance.now();
  const status = await get(path, headers);
  return { ms: performance.now() - started, ok: status === 200 };
}

const latencies: ClientLatencies = { health: [], tasks: [], ok: true };
const tasksPath = `/${backend}/tasks/`;
const until = performance.now() + seconds * 1000;
while (performance.now() < until) {
  const health = await timed("/");
  const tasks = await timed(tasksPath, { authorization: agentToken });
  latencies.health.push(health.ms);
  latencies.tasks.push(tasks.ms);
  latencies.ok &&= health.ok && tasks.ok;
}
agent.destroy();
parentPort!.postMessage(latencies);
