// The operator dashboard: read-only views of the controller (operator/api/*), refreshed every few seconds while the
// tab is open, and a job's live log (operator/jobs/{id}/logs). Everything that changes state stays on the CLI.
import { followJob, getJson, kept, setToken, token, Unauthorized } from "./api.js";
import { drawGraph, duration } from "./graph.js";

const POLL_MS = 2000;
const MAX_LOG_LINES = 5000;
const $ = (id) => document.getElementById(id);

const view = { rap: null, job: null };
let timer = null;
let logStream = null;

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text ?? "";
  if (className) td.className = className;
  return td;
}

function stateCell(row, job) {
  cell(
    row,
    job.cancelled && ["pending", "running"].includes(job.state) ? "cancelling" : job.state,
    `state state-${job.state}`,
  );
}

function jobButton(job, label) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.addEventListener("click", () => select(job.rap_id, job.id));
  return button;
}

function renderOverview({ backends, queues }) {
  const body = $("backends").tBodies[0];
  body.replaceChildren();
  for (const backend of backends) {
    const row = body.insertRow();
    cell(row, backend.name);
    cell(row, backend.paused ? "paused" : "no", backend.paused ? "state state-failed" : "");
    cell(row, backend.mode ?? "");
    cell(row, backend.last_seen_at ?? "never");
    cell(row, String(backend.running));
    cell(row, String(backend.queued));
    cell(
      row,
      Object.entries(backend.flags)
        .map(([name, value]) => `${name}=${value ?? ""}`)
        .join(", "),
    );
  }
  const box = $("queues");
  box.replaceChildren();
  for (const [backend, lists] of Object.entries(queues)) {
    const heading = document.createElement("h3");
    heading.textContent = `${backend}: ${lists.running.length} running, ${lists.queued.length} queued`;
    box.append(heading);
    const jobs = [...lists.running, ...lists.queued];
    if (jobs.length === 0) continue;
    const table = document.createElement("table");
    table.className = "queue";
    table
      .createTHead()
      .insertRow()
      .append(
        ...["Job", "Workspace", "State", "Status", "Running for"].map((title) => {
          const th = document.createElement("th");
          th.textContent = title;
          return th;
        }),
      );
    const tbody = table.createTBody();
    for (const job of jobs) {
      const row = tbody.insertRow();
      row.insertCell().append(jobButton(job, `${job.action} (${job.id})`));
      cell(row, job.workspace);
      stateCell(row, job);
      cell(row, `${job.status_code}${job.status_message ? `: ${job.status_message}` : ""}`);
      cell(row, duration(job.duration));
    }
    box.append(table);
  }
}

function renderRaps({ raps }) {
  const list = $("raps");
  list.replaceChildren();
  for (const rap of raps) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `${rap.rap_id} · ${rap.workspace} · ${Object.entries(rap.states)
      .map(([s, n]) => `${n} ${s}`)
      .join(", ")}`;
    button.setAttribute("aria-current", String(rap.rap_id === view.rap));
    button.addEventListener("click", () => select(rap.rap_id, null));
    item.append(button);
    list.append(item);
  }
}

function renderRap(rap) {
  const box = $("rap");
  const heading = document.createElement("h3");
  heading.textContent = `RAP ${rap.rap_id}`;
  box.replaceChildren(
    heading,
    drawGraph(rap.jobs, view.job, (jobId) => select(rap.rap_id, jobId)),
  );
}

function field(list, name, value) {
  const dt = document.createElement("dt");
  dt.textContent = name;
  const dd = document.createElement("dd");
  dd.textContent = value === null || value === undefined || value === "" ? "—" : String(value);
  list.append(dt, dd);
}

function renderJob({ job, needs, run_command, status }) {
  $("job").hidden = false;
  $("job-id").textContent = job.id;
  const fields = $("job-fields");
  fields.replaceChildren();
  for (const [name, value] of [
    ["action", job.action],
    ["RAP", job.rap_id],
    ["backend", job.backend],
    ["workspace", job.workspace],
    ["state", job.state],
    ["status code", job.status_code],
    ["status message", job.status_message],
    ["created", job.created_at],
    ["started", job.started_at],
    ["completed", job.completed_at],
    ["duration", duration(job.duration)],
    ["needs", needs.join(", ")],
    ["run", run_command],
  ])
    field(fields, name, value);
  const metrics = $("job-metrics");
  metrics.replaceChildren();
  const values = status?.metrics ?? {};
  if (Object.keys(values).length === 0) field(metrics, "metrics", "none recorded yet");
  for (const [name, value] of Object.entries(values))
    field(metrics, name, typeof value === "number" ? Number(value.toFixed(2)) : value);
}

async function openLog(jobId) {
  logStream?.abort();
  const stop = new AbortController();
  logStream = stop;
  const log = $("log");
  const note = $("log-note");
  log.textContent = "";
  note.textContent = "";
  const append = (line) => {
    log.append(`${line}\n`);
    while (log.childNodes.length > MAX_LOG_LINES) log.firstChild.remove();
    log.scrollTop = log.scrollHeight;
  };
  try {
    await followJob(
      jobId,
      (event, data) => {
        if (event === "open" && !data.output) {
          note.textContent = `This job's output stays on backend '${data.backend}': its agent sends it to the controller only with LOGS_TO_CONTROLLER=true. Status changes only.`;
        } else if (event === "status") append(`# ${data.line}`);
        else if (event === "output") append(data.line);
        else if (event === "end") append(`# finished: ${data.state} (${data.status_code})`);
      },
      stop.signal,
    );
  } catch (error) {
    if (error instanceof Unauthorized) return showLogin("Your token was refused.");
    if (!stop.signal.aborted) note.textContent = `The log stream stopped: ${error.message}`;
  }
}

async function refresh() {
  const overview = await getJson("overview");
  if (overview.changed) renderOverview(overview.data);
  const raps = await getJson("raps");
  if (raps.changed) renderRaps(raps.data);
  if (view.rap)
    await refreshUnlessSettled(`raps/${encodeURIComponent(view.rap)}`, renderRap, (rap) => rap.jobs);
  if (view.job)
    await refreshUnlessSettled(`jobs/${encodeURIComponent(view.job)}`, renderJob, (job) => [job.job]);
}

/** Answers that can no longer change (every job in them finished) are not asked for again. */
const settled = new Set();
const FINISHED = ["succeeded", "failed"];

async function refreshUnlessSettled(path, render, jobsOf) {
  if (settled.has(path)) return;
  const answer = await getJson(path);
  if (answer.changed) render(answer.data);
  if (jobsOf(answer.data).every((job) => FINISHED.includes(job.state))) settled.add(path);
}

async function tick() {
  clearTimeout(timer);
  try {
    await refresh();
    $("live").hidden = false;
  } catch (error) {
    if (error instanceof Unauthorized) return showLogin("Your token was refused.");
    $("live").hidden = true;
  }
  timer = setTimeout(tick, POLL_MS);
}

function select(rapId, jobId) {
  const changedJob = jobId !== view.job;
  view.rap = rapId;
  view.job = jobId;
  location.hash = jobId ? `rap=${rapId}&job=${jobId}` : `rap=${rapId}`;
  // The graph shows which job is chosen, even when its answer is settled.
  const graph = rapId && kept(`raps/${encodeURIComponent(rapId)}`);
  if (graph) renderRap(graph);
  if (changedJob) {
    logStream?.abort();
    $("job").hidden = jobId === null;
    if (jobId) openLog(jobId);
  }
  tick();
}

function showLogin(message) {
  clearTimeout(timer);
  logStream?.abort();
  setToken(null);
  $("app").hidden = true;
  $("logout").hidden = true;
  $("live").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message ?? "";
}

function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  const params = new URLSearchParams(location.hash.slice(1));
  select(params.get("rap"), params.get("job"));
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  setToken($("token").value.trim());
  $("token").value = "";
  start();
});
$("logout").addEventListener("click", () => showLogin("Logged out."));

if (token()) start();
else showLogin();
