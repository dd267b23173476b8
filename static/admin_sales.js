// The sales admin: list with live numbers, create, add stock, close.
const rows = document.getElementById("sale-rows");
const listStatus = document.getElementById("list-status");

function cell(row, ...children) {
  const td = document.createElement("td");
  td.append(...children);
  row.append(td);
  return td;
}

function action(text, onClick, kind = "secondary") {
  const element = document.createElement("button");
  element.type = "button";
  element.className = kind;
  element.textContent = text;
  element.addEventListener("click", onClick);
  return element;
}

const open = new Set();  // sales whose orders are shown

async function listOrders(saleId, target) {
  const result = await api("GET", `/api/admin/sales/${saleId}/orders`);
  if (result.status !== 200) return target.replaceChildren(errorMessage(result));
  const lines = result.data.orders.map((order) =>
    `#${order.id} · ${order.buyer || `user ${order.user_id}`} · ${order.status.replace("_", " ")} · ${shopTime(order.created_at)}`);
  target.replaceChildren(lines.length ? lines.join("\n") : "No orders yet.");
  target.style.whiteSpace = "pre-line";
}

// Who asked to be reminded, and the last fan-out: its progress, then its report.
function reminders({subscribers, last_run: run}) {
  const parts = [`${subscribers} asked`];
  if (!run) return parts;
  const report = document.createElement("div");
  report.dataset.testid = "reminder-report";
  report.dataset.status = run.status;
  if (run.status === "running") {
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = run.percent;
    report.append(bar, `${run.sent + run.failed + run.skipped} of ${run.total}`);
  } else {
    report.className = "status";
    report.dataset.kind = run.status === "done" ? "success" : "error";
    report.textContent = run.status === "done"
      ? `sent ${run.sent}, failed ${run.failed}, skipped ${run.skipped}`
      : `failed: ${run.error}`;
  }
  parts.push(report);
  return parts;
}

function render(sales) {
  rows.replaceChildren();
  for (const sale of sales) {
    const row = document.createElement("tr");
    row.dataset.testid = "sale-row";
    const link = document.createElement("a");
    link.href = `/seckill/${sale.id}`;
    link.textContent = sale.title;
    cell(row, String(sale.id));
    const picture = document.createElement("img");
    picture.src = sale.image_url || "/static/products/placeholder.svg";
    picture.alt = "";
    picture.className = "thumb";
    const about = document.createElement("div");  // one grid cell when rows stack on a phone
    about.append(picture, link, document.createElement("br"), sale.product);
    cell(row, about);
    cell(row, `${shopTime(sale.starts_at)} – ${shopTime(sale.ends_at)}`);
    cell(row, `¥${(sale.price_cents / 100).toFixed(2)}`);
    cell(row, `${sale.stock_left ?? "not loaded"} / ${sale.total_stock}`);
    const orders = Object.entries(sale.orders).map(([state, n]) => `${state.replace("_", " ")} ${n}`);
    cell(row, orders.join(", ") || "none");
    cell(row, ...reminders(sale.reminders));
    const badge = document.createElement("span");
    badge.className = `badge state-${sale.state}`;
    badge.textContent = sale.state.replace("_", " ");
    badge.dataset.testid = "sale-state";
    const state = cell(row, badge);
    if (sale.stock_drift) {
      const warning = document.createElement("div");
      warning.className = "status";
      warning.dataset.kind = "error";
      warning.textContent = `Redis stock off by ${sale.stock_drift > 0 ? "+" : ""}${sale.stock_drift}`;
      state.append(warning);
    }
    const addStock = action("Add stock", async () => {
      const extra = Number(window.prompt(`Units to add to “${sale.title}”:`, "10"));
      if (!Number.isInteger(extra) || extra <= 0) return;
      const result = await api("PATCH", `/api/admin/sales/${sale.id}`, {total_stock: sale.total_stock + extra});
      sayOutcome(listStatus, result, 200, `Added ${extra} units.`);
      load();
    });
    const close = action("Close", async () => {
      if (!window.confirm(`Close “${sale.title}” now?`)) return;
      const result = await api("POST", `/api/admin/sales/${sale.id}/close`, {});
      sayOutcome(listStatus, result, 200, `Closed “${sale.title}”.`);
      load();
    }, "danger");
    close.disabled = sale.status === "closed";
    const details = document.createElement("tr");
    details.hidden = !open.has(sale.id);
    const list = cell(details);
    list.colSpan = 9;
    const showOrders = action("Orders", () => {
      if (open.has(sale.id)) open.delete(sale.id); else open.add(sale.id);
      details.hidden = !open.has(sale.id);
      if (!details.hidden) listOrders(sale.id, list);
    });
    const exportCsv = action("Export CSV", () => startExport(sale));
    cell(row, addStock, close, showOrders, exportCsv).className = "actions";
    rows.append(row, details);
    if (!details.hidden) listOrders(sale.id, list);
  }
}

// An export runs as a task: its progress bar, then its download link, or why it failed.
async function startExport(sale) {
  const section = document.getElementById("exports");
  const item = document.createElement("li");
  item.dataset.testid = "export";
  const label = document.createElement("span");
  const bar = document.createElement("progress");
  bar.max = 100;
  const line = document.createElement("p");
  line.className = "status";
  label.textContent = `Orders of “${sale.title}”`;
  item.append(label, bar, line);
  section.hidden = false;
  document.getElementById("export-list").prepend(item);
  say(line, "pending", "Queued: waiting for a worker…");
  const started = await api("POST", `/api/admin/sales/${sale.id}/export`, {});
  if (started.status !== 202) return say(line, "error", errorMessage(started));
  const taskId = started.data.task_id;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const result = await api("GET", `/api/tasks/${taskId}`);
    if (result.status !== 200) return say(line, "error", errorMessage(result));
    const task = result.data;
    if (task.state === "PROGRESS") {
      const {current, total, percent, description} = task.progress;
      bar.value = percent;
      say(line, "pending", `${description}: ${current.toLocaleString()} of ${total.toLocaleString()} (${percent}%)`);
    } else if (task.state === "SUCCESS") {
      bar.value = 100;
      const link = document.createElement("a");
      link.href = task.result.download;
      link.textContent = `Download ${task.result.rows.toLocaleString()} orders (CSV)`;
      link.dataset.testid = "export-link";
      line.replaceChildren(link, ` · until ${shopTime(task.result.expires_at)}`);
      line.dataset.kind = "success";
      return;
    } else if (task.state === "FAILURE") {
      return say(line, "error", `The export failed: ${task.error}`);
    } else if (task.state === "STARTED") {
      say(line, "pending", "Counting the orders…");
    }
  }
}

async function load() {
  const result = await api("GET", "/api/admin/sales");
  if (result.status !== 200) return say(listStatus, "error", errorMessage(result));
  render(result.data.sales);
  if (listStatus.dataset.kind === "pending") {
    say(listStatus, "success", result.data.sales.length ? "" : "No sales yet: create one below.");
  }
}

const newSale = document.getElementById("new-sale");
previewPicture(newSale.image_url);

newSale.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const status = document.getElementById("new-status");
  // The form's times are the shop's wall clock (the server reads them in its zone).
  const shopNow = new Intl.DateTimeFormat("sv-SE", {timeZone: document.body.dataset.timezone,
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"}).format(new Date());
  if (form.starts_at.value && form.starts_at.value < shopNow.replace(" ", "T")
      && !window.confirm("This sale's start is already past: it opens the moment it is created. Create it anyway?")) {
    return say(status, "", "Not created: change the start, or confirm.");
  }
  say(status, "pending", "Creating…");
  const result = await api("POST", "/api/admin/sales", {
    title: form.title.value,
    product: form.product.value,
    price_cents: Math.round(Number(form.price.value) * 100),
    regular_price_cents: form.regular_price.value ? Math.round(Number(form.regular_price.value) * 100) : null,
    image_url: form.image_url.value.trim() || null,
    description: form.description.value,
    total_stock: Number(form.total_stock.value),
    starts_at: form.starts_at.value,
    ends_at: form.ends_at.value,
  });
  if (result.status !== 201) {
    showFieldError(form, result);
    return say(status, "error", errorMessage(result));
  }
  clearFieldErrors(form);
  form.reset();
  sayOutcome(status, result, 201, `Created “${result.data.sale.title}”.`);
  load();
});

load();
setInterval(load, 2000);
