// The schedule admin: entries from /api/admin/schedules, refreshed every 5 s so
// next and last runs stay true; one form adds an entry or edits one.
const zone = document.body.dataset.timezone;
// "2026-11-27 20:05:00" in the shop's zone: what a datetime-local input holds.
const wallClock = new Intl.DateTimeFormat("sv-SE", {
  timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});
const rows = document.getElementById("entry-rows");
const listStatus = document.getElementById("list-status");
const form = document.getElementById("entry-form");
const formStatus = document.getElementById("form-status");
let entries = [];

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  Object.assign(node, attributes);
  return node;
}

function button(text, onClick, kind) {
  const node = element("button", text, {type: "button"});
  if (kind) node.className = kind === true ? "secondary" : kind;  // or "danger"
  node.addEventListener("click", onClick);
  return node;
}

function moment(iso) {
  return iso ? shopTime(iso, {seconds: true}) : "—";
}

function timing(entry) {
  if (entry.kind === "interval") return `every ${entry.every_seconds} s`;
  if (entry.kind === "crontab") return `${entry.crontab} (${entry.timezone})`;
  return `once, ${moment(entry.run_at)}`;
}

function render() {
  rows.replaceChildren();
  for (const entry of entries) {
    const row = element("tr");
    row.dataset.testid = "entry-row";
    row.dataset.name = entry.name;
    const status = element("span", "", {className: "status row-status"});
    status.setAttribute("role", "status");
    const enabled = element("input", null, {type: "checkbox", checked: entry.enabled});
    enabled.setAttribute("aria-label", `Enable ${entry.name}`);
    enabled.addEventListener("change", async () => {
      say(status, "pending", "Saving…");
      const result = await api("PATCH", `/api/admin/schedules/${entry.id}`, {enabled: enabled.checked});
      if (result.status !== 200) return say(status, "error", errorMessage(result));
      await load();
    });
    const run = button("Run now", async () => {
      say(status, "pending", "Sending…");
      const result = await api("POST", `/api/admin/schedules/${entry.id}/run`);
      if (result.status !== 202) return say(status, "error", errorMessage(result));
      status.replaceChildren(element("a", "sent", {href: `/admin/tasks#${result.data.task_id}`}));
      status.dataset.kind = "success";
    });
    const edit = button("Edit", () => startEdit(entry), true);
    const actions = [run, edit];
    if (!entry.builtin) {
      actions.push(button("Delete", async () => {
        if (!window.confirm(`Delete “${entry.name}”?`)) return;
        const result = await api("DELETE", `/api/admin/schedules/${entry.id}`);
        if (result.status !== 204) return say(status, "error", errorMessage(result));
        await load();
        say(listStatus, "success", `Deleted “${entry.name}”.`);
      }, "danger"));
    }
    const name = element("td");
    name.append(element("strong", entry.name), element("div", entry.description, {className: "hint"}));
    if (entry.problem) {
      const problem = element("div", `Beat skips this entry: ${entry.problem} Edit it to fix.`, {className: "status"});
      problem.dataset.kind = "error";
      problem.dataset.testid = "entry-problem";
      name.append(problem);
    }
    const next = element("td", !entry.enabled ? "disabled" : entry.problem ? "skipped" : moment(entry.next_run_at));
    next.dataset.testid = "next-run";
    const cells = [
      name, element("td", entry.task), element("td", timing(entry)), next,
      element("td", moment(entry.last_run_at)), element("td", String(entry.total_runs)),
    ];
    const toggle = element("td");
    toggle.append(enabled);
    const buttons = element("td", null, {className: "actions"});
    buttons.append(...actions, status);
    row.append(...cells, toggle, buttons);
    rows.append(row);
  }
}

async function load() {
  const result = await api("GET", "/api/admin/schedules");
  if (result.status !== 200) return say(listStatus, "error", errorMessage(result));
  entries = result.data.entries;
  render();
  say(listStatus, "success", entries.length ? "" : "No entries yet: beat adds the product's own when it starts.");
}

function showTimingFields() {
  for (const label of form.querySelectorAll("label[data-kind]")) {
    label.hidden = label.dataset.kind !== form.kind.value;
  }
}

function startEdit(entry) {
  form.reset();
  form.id.value = entry.id;
  for (const name of ["name", "task", "kind", "every_seconds", "crontab", "queue", "description"]) {
    form[name].value = entry[name] ?? "";
  }
  form.timezone.value = entry.kind === "crontab" ? entry.timezone : "";
  form.run_at.value = entry.run_at ? wallClock.format(new Date(entry.run_at)).replace(" ", "T") : "";
  form.expires_at.value = entry.expires_at ? wallClock.format(new Date(entry.expires_at)).replace(" ", "T") : "";
  form.args.value = JSON.stringify(entry.args);
  form.kwargs.value = JSON.stringify(entry.kwargs);
  form.enabled.checked = entry.enabled;
  form.name.readOnly = form.task.disabled = entry.builtin;  // the product's own keep both
  document.getElementById("form-title").textContent = `Edit “${entry.name}”`;
  document.getElementById("save-entry").textContent = "Save";
  document.getElementById("cancel-edit").hidden = false;
  showTimingFields();
  say(formStatus, "", "");
  form.scrollIntoView({behavior: "smooth"});
}

function stopEdit() {
  form.reset();
  form.id.value = "";
  form.name.readOnly = form.task.disabled = false;
  document.getElementById("form-title").textContent = "New entry";
  document.getElementById("save-entry").textContent = "Add entry";
  document.getElementById("cancel-edit").hidden = true;
  showTimingFields();
}

// The form as the API takes it: only the chosen kind's timing, JSON parsed here
// so a typo is named before anything is sent.
function payload() {
  const body = {
    name: form.name.value, kind: form.kind.value, queue: form.queue.value || null,
    description: form.description.value, enabled: form.enabled.checked,
    expires_at: form.expires_at.value || null,
  };
  if (!form.task.disabled) body.task = form.task.value;
  if (body.kind === "interval") body.every_seconds = form.every_seconds.value === "" ? null : Number(form.every_seconds.value);
  if (body.kind === "crontab") {
    body.crontab = form.crontab.value || null;
    body.timezone = form.timezone.value || null;
  }
  if (body.kind === "once") body.run_at = form.run_at.value || null;
  for (const name of ["args", "kwargs"]) {
    try {
      body[name] = JSON.parse(form[name].value || (name === "args" ? "[]" : "{}"));
    } catch (err) {
      throw new Error(`${name === "args" ? "Arguments" : "Keyword arguments"} must be JSON: ${err.message}`);
    }
  }
  return body;
}

form.kind.addEventListener("change", showTimingFields);
document.getElementById("cancel-edit").addEventListener("click", stopEdit);
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  let body;
  try {
    body = payload();
  } catch (err) {
    return say(formStatus, "error", err.message);
  }
  const id = form.id.value;
  say(formStatus, "pending", "Saving…");
  const result = id
    ? await api("PATCH", `/api/admin/schedules/${id}`, body)
    : await api("POST", "/api/admin/schedules", body);
  if (result.status !== (id ? 200 : 201)) {
    showFieldError(form, result);
    return say(formStatus, "error", errorMessage(result));
  }
  clearFieldErrors(form);
  const entry = result.data.entry;
  stopEdit();
  await load();
  const next = entry.next_run_at ? `; next run ${moment(entry.next_run_at)}` : "";
  say(formStatus, "success", `Saved “${entry.name}”${next}.`);
});

showTimingFields();
load();
setInterval(load, 5000);
