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
  section.append(report.sales.length ? salesTable(report.sales) : element("p", "No sale was open that day."));
  const mailed = element("p", report.mailed_to ? `Mailed to ${admins(report.mailed_to)}. ` : "Not mailed. ");
  mailed.className = "hint";
  const mail = element("button", report.mailed_to ? "Mail again" : "Mail it");
  mail.type = "button";
  mail.className = "secondary";
  mail.addEventListener("click", () => mailReport(report, mail));
  mailed.append(mail);
  section.append(mailed);
  return section;
}

const admins = (count) => `${count} admin${count === 1 ? "" : "s"}`;

function salesTable(sales) {
  const table = element("table");
  table.className = "admin-table";
  const head = element("tr");
  for (const [title] of COLUMNS) head.append(element("th", title));
  table.append(head);
  for (const sale of sales) {
    const row = element("tr");
    for (const [, value] of COLUMNS) row.append(element("td", String(value(sale))));
    table.append(row);
  }
  return table;
}

async function mailReport(report, button) {
  const recipients = admins(Number(container.dataset.admins));
  if (!confirm(`Mail the report of ${report.day} to ${recipients}?`)) return;
  button.disabled = true;
  say(status, "pending", `Mailing the report of ${report.day}…`);
  const result = await api("POST", `/api/admin/reports/${report.id}/mail`, {});
  if (result.status !== 202) {
    button.disabled = false;
    return say(status, "error", errorMessage(result));
  }
  say(status, "success", `The report of ${report.day} is on its way to ${recipients}.`);
  refreshUntil = Date.now() + 10000;  // until the list shows it mailed
  timer = setTimeout(load, 2000);
}

let timer = null;
let refreshUntil = 0;

async function load() {
  const result = await api("GET", "/api/admin/reports");
  if (result.status !== 200) return say(status, "error", errorMessage(result));
  const reports = result.data.reports;
  container.replaceChildren(...reports.map(renderReport));
  if (!reports.length) say(status, "success", "No report yet.");
  else if (status.dataset.kind !== "success") say(status, "success", "");
  clearTimeout(timer);
  if (reports.some((report) => report.status === "running") || Date.now() < refreshUntil) {
    timer = setTimeout(load, Date.now() < refreshUntil ? 2000 : 3000);
  }
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
