/**
 * The watcher that sits between the local runtime and a job's process. The agent starts it detached (its own
 * session), so it and the job outlive an agent restart; it starts the job in a process group of its own (what
 * `kill` signals), timestamps each line of output into `log.txt` the way `docker logs --timestamps` prints it, and
 * writes `exit.json` when the job ends: the exit code, or 128 + the signal number (137 for SIGKILL), as Docker
 * reports it. As in a container, the job ends with its own process: anything it left running in its group is then
 * killed. It tells the agent the job has started (or could not) with one line on stdout.
 *
 * Output is never gathered: a line longer than 16 KiB is written in pieces, each with its own timestamp, as Docker's
 * log drivers split long messages, so a job printing hundreds of megabytes without a newline costs no memory. The
 * log on disk is bounded too: past `logMaxBytes` (from spec.json) log.txt becomes log.1.txt, replacing the one
 * before, whose size is added to `log-dropped.json` so the agent can say how much was left out.
 *
 * It is plain JavaScript in a string, run with `node -e`, so it works the same from the TypeScript sources (tests)
 * and from dist/. Its only argument is the container's state directory; the job's environment is its own.
 */
export const WRAPPER_SOURCE = String.raw`
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const dir = process.argv[1];
const spec = JSON.parse(fs.readFileSync(path.join(dir, "spec.json"), "utf8"));
const logFile = path.join(dir, "log.txt");
let log = fs.openSync(logFile, "a");
let logBytes = fs.fstatSync(log).size;
let droppedBytes = 0;
const wallStart = BigInt(Date.now()) * 1000000n;
const hrStart = process.hrtime.bigint();
const nowNs = () => wallStart + (process.hrtime.bigint() - hrStart);
const stamp = (ns) =>
  new Date(Number(ns / 1000000n)).toISOString().slice(0, 19) + "." + String(ns % 1000000000n).padStart(9, "0") + "Z";

function writeAtomic(name, value) {
  const file = path.join(dir, name);
  fs.writeFileSync(file + ".tmp", JSON.stringify(value));
  fs.renameSync(file + ".tmp", file);
}
function tellAgent(line) {
  process.stdout.write(line + "\n");
  process.stdout.end();
}
function writeLine(bytes) {
  const line = Buffer.concat([Buffer.from(stamp(nowNs()) + " "), bytes]);
  if (logBytes > 0 && logBytes + line.length > spec.logMaxBytes) rotateLog();
  fs.writeSync(log, line);
  logBytes += line.length;
}
function rotateLog() {
  const previous = path.join(dir, "log.1.txt");
  try {
    droppedBytes += fs.statSync(previous).size;
  } catch {
    // The first rotation: nothing was dropped yet.
  }
  fs.closeSync(log);
  fs.renameSync(logFile, previous);
  writeAtomic("log-dropped.json", { bytes: droppedBytes });
  log = fs.openSync(logFile, "a");
  logBytes = 0;
}
function processStart(pid) {
  try {
    const stat = fs.readFileSync("/proc/" + pid + "/stat", "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return null;
  }
}

let finished = false;
function finish(exitCode) {
  if (finished) return;
  finished = true;
  try {
    writeAtomic("exit.json", { exitCode, finishedAtNs: String(nowNs()) });
  } catch {
    // The state directory was removed while the job ran: nobody is left to tell.
  }
}

const child = spawn(spec.command, spec.args, { cwd: spec.cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
child.on("error", (error) => {
  // The command could not be started: exit codes as a shell reports them (127 not found, 126 not executable).
  writeLine(Buffer.from("cannot run " + spec.command + ": " + error.message + "\n"));
  finish(error.code === "ENOENT" ? 127 : 126);
  tellAgent("ended");
});
child.on("spawn", () => {
  writeAtomic("pid.json", {
    pid: child.pid,
    wrapperPid: process.pid,
    startedAtNs: String(nowNs()),
    processStart: processStart(child.pid),
    wrapperStart: processStart(process.pid),
  });
  tellAgent("started");
});

const PIECE_BYTES = 16384;
const pending = new Map();
function onOutput(stream, chunk) {
  const rest = pending.get(stream);
  let buffer = rest && rest.length ? Buffer.concat([rest, chunk]) : chunk;
  let end = buffer.indexOf(10);
  while (end >= 0) {
    writeLine(buffer.subarray(0, end + 1));
    buffer = buffer.subarray(end + 1);
    end = buffer.indexOf(10);
  }
  while (buffer.length >= PIECE_BYTES) {
    writeLine(buffer.subarray(0, PIECE_BYTES));
    buffer = buffer.subarray(PIECE_BYTES);
  }
  pending.set(stream, buffer);
}
child.stdout.on("data", (chunk) => onOutput("stdout", chunk));
child.stderr.on("data", (chunk) => onOutput("stderr", chunk));
// Left running, they would also hold the output pipes open and so delay recording the end.
child.on("exit", () => {
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // The group is already empty.
  }
});
child.on("close", (code, signal) => {
  for (const rest of pending.values()) if (rest.length) writeLine(Buffer.concat([rest, Buffer.from("\n")]));
  finish(code !== null ? code : 128 + (os.constants.signals[signal] || 0));
});
`;
