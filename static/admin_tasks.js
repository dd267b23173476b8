// The task dashboard: history with filters, one run's detail and actions,
// queues, workers and the audit log, refreshed while the page is open.
const form = document.getElementById("task-filters");
const rows = document.getElementById("task-rows");
const status = document.getElementById("task-status");
const older = document.getElementById("older");
const detail = document.getElementById("task-detail");
const FINISHED = new Set(["SUCCESS", "FAILURE", "REVOKED", "REJECTED", "IGNORED"]);

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  Object.assign(node, attributes);
  return node;
}

function row(body, cells) {
  const tr = element("tr");
  for (const content of cells) {
    const td = element("td");
    td.append(content ?? "");
    tr.append(td);
  }
  body.append(tr);
  return tr;
}

function moment(iso) {
  return shopTime(iso, {seconds: true});
}

// A long id shortened to its first 8 characters, whole on hover, with a copy button.
function shortId(id) {
  const box = element("span");
  const text = element("span", id.slice(0, 8), {className: "short-id", title: id});
  const copy = element("button", "Copy", {type: "button", className: "secondary copy"});
  copy.setAttribute("aria-label", `Copy the id ${id}`);
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(id);
      copy.textContent = "Copied";
    } catch (err) {
      copy.textContent = "Select it: copying is blocked";
      text.textContent = id;
    }
    setTimeout(() => { copy.textContent = "Copy"; }, 2000);
  });
  box.append(text, copy);
  return box;
}

function stateBadge(state) {
  return element("span", state, {className: `badge state-${state.toLowerCase()}`});
}

function taskLink(run) {
  const link = element("a", run.name || "(unknown)", {href: `#${run.task_id}`});
  link.dataset.testid = "task-link";
  return link;
}

// The filters as a query string; datetime-local is read in the shop's zone by the server.
function query() {
  const data = new FormData(form);
  const params = new URLSearchParams();
  for (const name of ["state", "name", "since", "until", "q"]) {
    const value = (data.get(name) || "").trim();
    if (value) params.set(name, value);
  }
  return params;
}

let cursor = null;

async function loadTasks(append = false) {
  const params = query();
  if (append && cursor) params.set("cursor", cursor);
  const result = await api("GET", `/api/admin/tasks?${params}`);
  if (result.status !== 200) return say(status, "error", errorMessage(result));
  const {tasks, next_cursor: next, names} = result.data;
  fillNames(names);
  if (!append) rows.replaceChildren();
  for (const run of tasks) {
    const tr = row(rows, [taskLink(run), shortId(run.task_id), stateBadge(run.state), moment(run.seen_at),
      run.runtime === null ? "" : `${run.runtime.toFixed(3)} s`, String(run.retries), run.worker || "", run.error || ""]);
    tr.dataset.testid = "task-row";
    tr.dataset.state = run.state;
  }
  cursor = next;
  older.hidden = !next;
  const shown = rows.children.length;
  say(status, "success", shown ? `${shown} run${shown === 1 ? "" : "s"} shown${next ? "; more below" : ""}.` : "No runs match.");
}

function fillNames(names) {
  const select = form.elements.name;
  if (select.options.length > 1) return;
  for (const name of names) select.append(element("option", name));
}

async function loadDetail(taskId) {
  const result = await api("GET", `/api/admin/tasks/${encodeURIComponent(taskId)}`);
  detail.hidden = false;
  const detailStatus = document.getElementById("detail-status");
  if (result.status === 404) {
    // Just queued (a rerun): its first change is written within a second.
    document.getElementById("detail-title").textContent = taskId;
    detail.dataset.state = "";
    return say(detailStatus, "pending", "Waiting for this run to be recorded…");
  }
  if (result.status !== 200) return say(detailStatus, "error", errorMessage(result));
  const run = result.data.task;
  document.getElementById("detail-title").textContent = `${run.name} · ${run.state}`;
  const facts = document.getElementById("detail-facts");
  facts.replaceChildren();
  for (const [label, value] of [["Id", run.task_id], ["State", run.state], ["Queue", run.queue], ["Worker", run.worker],
    ["Seen", moment(run.seen_at)], ["Started", moment(run.started_at)], ["Finished", moment(run.finished_at)],
    ["Runtime", run.runtime === null ? "" : `${run.runtime.toFixed(3)} s`], ["Retries", String(run.retries)],
    ["Schedule", run.periodic_entry], ["Parent", run.parent_id], ["Canvas root", run.root_id], ["Rerun of", run.retry_of]]) {
    if (!value) continue;
    facts.append(element("dt", label), element("dd", value));
  }
  detail.dataset.state = run.state;
  const timeline = document.getElementById("detail-timeline");
  timeline.replaceChildren(...run.timeline.map((event) =>
    element("li", `${moment(event.at)} · ${event.state}${event.worker ? ` on ${event.worker}` : ""}${event.detail ? ` · ${event.detail}` : ""}`)));
  document.getElementById("detail-arguments").textContent =
    run.arguments === null ? "Not recorded." : JSON.stringify(run.arguments, null, 2);
  const failed = Boolean(run.traceback || run.error);
  document.getElementById("detail-outcome-title").textContent = failed ? "Error" : "Result";
  document.getElementById("detail-outcome").textContent = failed
    ? (run.traceback || run.error) : (run.result === null ? "—" : JSON.stringify(run.result, null, 2));
  renderRelated(run);
  renderActions(run, detailStatus);
  detail.scrollIntoView({block: "nearest"});
}

function renderRelated(run) {
  const box = document.getElementById("detail-related");
  box.replaceChildren();
  for (const [title, runs] of [["Started by this run", run.children], ["Its group", run.group], ["Reruns", run.reruns]]) {
    if (!runs.length) continue;
    const list = element("ul");
    for (const other of runs) {
      const item = element("li");
      item.append(taskLink(other), ` · ${other.state} · ${moment(other.seen_at)}`);
      list.append(item);
    }
    box.append(element("h3", title), list);
  }
}

function actionButton(text, onClick) {
  const button = element("button", text, {type: "button"});
  button.addEventListener("click", onClick);
  return button;
}

function renderActions(run, detailStatus) {
  const box = document.getElementById("detail-actions");
  box.replaceChildren();
  say(detailStatus, "", "");
  if (["FAILURE", "REVOKED", "REJECTED"].includes(run.state)) {
    const retry = actionButton("Run again", async () => {
      const result = await api("POST", `/api/admin/tasks/${encodeURIComponent(run.task_id)}/retry`);
      if (result.status !== 202) return say(detailStatus, "error", errorMessage(result));
      window.location.hash = result.data.task_id;  // follow the new run
    });
    retry.disabled = !run.replayable;
    retry.title = run.replayable ? "A new run with the same arguments" : "Its arguments held secrets, which are not kept";
    box.append(retry);
  }
  if (!FINISHED.has(run.state)) {
    const running = run.state === "STARTED";
    box.append(actionButton(running ? "Terminate" : "Revoke", async () => {
      if (!window.confirm(`${running ? "Terminate" : "Revoke"} ${run.name} ${run.task_id}?`)) return;
      const result = await api("POST", `/api/admin/tasks/${encodeURIComponent(run.task_id)}/revoke`, {terminate: running});
      if (result.status !== 202) return say(detailStatus, "error", errorMessage(result));
      if (result.data.warning) say(detailStatus, "error", result.data.warning);
      else say(detailStatus, "success", running ? "Terminated: its worker killed it." : "Revoked: no worker will run it.");
      setTimeout(() => loadDetail(run.task_id), 1000);
    }));
  }
}

async function loadQueues() {
  const body = document.getElementById("queue-rows");
  const result = await api("GET", "/api/admin/queues");
  body.replaceChildren();
  if (result.status !== 200) return row(body, [errorMessage(result)]);
  // Redis cannot count a queue's consumers: the column goes, rather than a false 0.
  const counted = result.data.queues.some((queue) => queue.consumers !== null);
  body.closest("table").querySelector("th.consumers").hidden = !counted;
  for (const queue of result.data.queues) {
    row(body, [queue.name, String(queue.messages), ...(counted ? [String(queue.consumers)] : [])]);
  }
}

async function loadWorkers() {
  const body = document.getElementById("worker-rows");
  const workerStatus = document.getElementById("worker-status");
  const result = await api("GET", "/api/admin/workers");
  if (result.status !== 200) return say(workerStatus, "error", errorMessage(result));
  body.replaceChildren();
  const workers = result.data.workers;
  say(workerStatus, workers.some((w) => w.online) ? "success" : "error",
    workers.length ? `${workers.filter((w) => w.online).length} of ${workers.length} online.` : "No worker is running: queued tasks wait.");
  for (const worker of workers) {
    const state = worker.answering ? "online" : worker.online ? "online, not answering" : "offline";
    const active = worker.active.map((task) => task.name).join(", ") || "idle";
    const beat = worker.last_heartbeat ? shopTime(worker.last_heartbeat * 1000, {seconds: true}) : "";
    row(body, [worker.hostname, state, `${worker.pool || "?"} × ${worker.concurrency ?? "?"}`, active,
      String(worker.reserved), String(worker.scheduled), String(worker.processed), beat]).dataset.testid = "worker-row";
  }
}

// An audit entry's detail as "name: value" pairs, which wrap like words.
function describe(detail) {
  if (!detail) return "";
  return Object.entries(detail).map(([name, value]) =>
    `${name}: ${typeof value === "string" ? value : JSON.stringify(value)}`).join(" · ");
}

async function loadAudit() {
  const body = document.getElementById("audit-rows");
  const result = await api("GET", "/api/admin/audit?limit=20");
  if (result.status !== 200) return;
  body.replaceChildren();
  for (const entry of result.data.entries) {
    row(body, [moment(entry.at), entry.actor, entry.action, entry.target, describe(entry.detail)]);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  loadTasks();
});
older.addEventListener("click", () => loadTasks(true));
window.addEventListener("hashchange", () => {
  const taskId = decodeURIComponent(window.location.hash.slice(1));
  if (taskId) loadDetail(taskId);
});

// Live: the first page, the open run, the queues and workers, every few seconds,
// while nobody is paging back through history.
setInterval(() => {
  if (document.hidden || !form.elements.live.checked || rows.children.length > 50) return;
  loadTasks();
  const taskId = decodeURIComponent(window.location.hash.slice(1));
  if (taskId && !detail.hidden && !FINISHED.has(detail.dataset.state)) loadDetail(taskId);
}, 3000);
setInterval(() => {
  if (document.hidden) return;
  loadQueues();
  loadWorkers();
  loadAudit();
}, 5000);

loadTasks();
loadQueues();
loadWorkers();
loadAudit();
if (window.location.hash.length > 1) loadDetail(decodeURIComponent(window.location.hash.slice(1)));
