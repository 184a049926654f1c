// A RAP's jobs drawn as a graph in SVG: one column per depth (the longest chain of needs before a job), an arrow
// from each job to the jobs that need it, each box coloured by state with the action's name and timing.
const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 190;
const HEIGHT = 46;
const GAP_X = 60;
const GAP_Y = 16;
const PAD = 10;

function element(name, attributes, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  parent?.appendChild(node);
  return node;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** The SVG for these graph nodes (operator/api/raps/{id}); `onSelect(jobId)` on a click. */
export function drawGraph(jobs, selectedId, onSelect) {
  const columns = [];
  for (const job of jobs) {
    columns[job.depth] = [...(columns[job.depth] ?? []), job];
  }
  const place = new Map();
  for (const [x, column] of columns.entries()) {
    for (const [y, job] of (column ?? []).entries()) {
      place.set(job.id, { x: PAD + x * (WIDTH + GAP_X), y: PAD + y * (HEIGHT + GAP_Y) });
    }
  }
  const rows = Math.max(1, ...columns.map((column) => column.length));
  const svg = element("svg", {
    class: "graph",
    width: PAD * 2 + columns.length * (WIDTH + GAP_X) - GAP_X,
    height: PAD * 2 + rows * (HEIGHT + GAP_Y) - GAP_Y,
    role: "img",
    "aria-label": "the RAP's jobs and their needs",
  });
  const marker = element(
    "marker",
    { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
    element("defs", {}, svg),
  );
  element("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8c959f" }, marker);
  for (const job of jobs) {
    const to = place.get(job.id);
    for (const need of job.needs) {
      const from = place.get(need);
      if (!from) continue;
      const x1 = from.x + WIDTH;
      const y1 = from.y + HEIGHT / 2;
      const x2 = to.x;
      const y2 = to.y + HEIGHT / 2;
      element(
        "path",
        { class: "edge", d: `M${x1},${y1} C${x1 + GAP_X / 2},${y1} ${x2 - GAP_X / 2},${y2} ${x2},${y2}` },
        svg,
      );
    }
  }
  for (const job of jobs) {
    const { x, y } = place.get(job.id);
    const group = element(
      "g",
      {
        class: `node ${job.state}${job.id === selectedId ? " selected" : ""}`,
        transform: `translate(${x},${y})`,
        tabindex: 0,
        "data-job": job.id,
        "data-state": job.state,
      },
      svg,
    );
    element("title", {}, group).textContent =
      `${job.action}: ${job.status_code}${job.status_message ? ` (${job.status_message})` : ""}`;
    element("rect", { width: WIDTH, height: HEIGHT }, group);
    element("text", { x: 10, y: 19 }, group).textContent = job.action;
    const timing = job.duration === null ? job.status_code : `${job.status_code} · ${duration(job.duration)}`;
    element("text", { x: 10, y: 36, class: "detail" }, group).textContent = `${job.state} · ${timing}`.slice(
      0,
      32,
    );
    group.addEventListener("click", () => onSelect(job.id));
    group.addEventListener("keydown", (event) => {
      if (event.key === "Enter") onSelect(job.id);
    });
  }
  return svg;
}
