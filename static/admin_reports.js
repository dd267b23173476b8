// The daily reports: one table per day, refreshed every 3 s while one is computed.
const container = document.getElementById("reports");
const status = document.getElementById("report-status");
const form = document.getElementById("run-report");
const money = (cents) => `¥${(cents / 100).toFixed(2)}`;
const COLUMNS = [
  ["Sale", (s) => `#${s.sale_id} ${s.title}`], ["Orders", (s) => s.orders], ["Paid", (s) => s.paid],
  ["Unpaid", (s) => s.unpaid], ["Cancelled", (s) => s.cancelled], ["Revenue", (s) => money(s.revenue_cents)],
  ["Reminders sent", (s) => s.reminders_sent], ["Reminded who bought", (s) => s.reminded_buyers],
];

function element(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderReport(report) {
  const section = element("section");
  section.dataset.testid = "report";
  section.dataset.day = report.day;
  section.dataset.status = report.status;
  section.append(element("h2", report.day));
  if (report.status === "running") {
    section.append(element("p", "Being computed…"));
    return section;
  }
  if (report.status === "failed") {
    const failed = element("p", `Failed: ${report.error}`);
    failed.className = "status";
    failed.dataset.kind = "error";
    section.append(failed);
    return section;
  }
  if (!report.sales.length) {
    section.append(element("p", "No sale was open that day."));
    return section;
  }
  const table = element("table");
  table.className = "admin-table";
  const head = element("tr");
  for (const [title] of COLUMNS) head.append(element("th", title));
  table.append(head);
  for (const sale of report.sales) {
    const row = element("tr");
    for (const [, value] of COLUMNS) row.append(element("td", String(value(sale))));
    table.append(row);
  }
  const mailed = element("p", report.mailed_to ? `Mailed to ${report.mailed_to} admins.` : "Not mailed.");
  mailed.className = "hint";
  section.append(table, mailed);
  return section;
}

let timer = null;

async function load() {
  const result = await api("GET", "/api/admin/reports");
  if (result.status !== 200) return say(status, "error", errorMessage(result));
  const reports = result.data.reports;
  container.replaceChildren(...reports.map(renderReport));
  say(status, "success", reports.length ? "" : "No report yet.");
  clearTimeout(timer);
  if (reports.some((report) => report.status === "running")) timer = setTimeout(load, 3000);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(status, "pending", "Starting…");
  const result = await api("POST", "/api/admin/reports", {day: form.day.value});
  if (result.status !== 202) return say(status, "error", errorMessage(result));
  say(status, "pending", `Computing ${form.day.value}…`);
  timer = setTimeout(load, 500);
});

form.day.value = new Intl.DateTimeFormat("sv-SE", {timeZone: document.body.dataset.timezone}).format(new Date());
load();
