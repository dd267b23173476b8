// A flash sale's page: countdown on the server's clock, buy, then poll the result
// every 2 s. The buyer's purchase comes from the server, so any device shows it.
const sale = {id: Number(document.getElementById("sale").dataset.saleId)};
const root = document.getElementById("sale");
const stock = document.getElementById("stock");
const countdown = document.getElementById("countdown");
const buy = document.getElementById("buy");
const pay = document.getElementById("pay");
const status = document.getElementById("buy-status");
let offset = 0;          // server clock minus this browser's clock, in ms
let activity = null;
let purchasing = false;  // a purchase is under way or done: the buy button stays off

function serverNow() {
  return Date.now() + offset;
}

function clock(ms) {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

async function refresh() {
  const sent = Date.now();
  const result = await api("GET", `/api/seckill/activities/${sale.id}`);
  if (result.status !== 200) return;
  const received = Date.now();
  offset = Date.parse(result.data.server_time) - (sent + received) / 2;
  activity = result.data.activity;
  stock.textContent = activity.stock_left ?? activity.total_stock;
  render();
}

function render() {
  if (!activity) return;
  const startsIn = Date.parse(activity.starts_at) - serverNow();
  const endsIn = Date.parse(activity.ends_at) - serverNow();
  let state = activity.state;
  if (state === "upcoming" && startsIn <= 0) state = "open";  // the next refresh confirms
  if (state === "open" && endsIn <= 0) state = "ended";
  root.dataset.state = state;
  const text = {
    upcoming: `Opens in ${clock(startsIn)}`,
    open: `Open now · ends in ${clock(endsIn)}`,
    sold_out: "Sold out",
    ended: "This sale is over",
    closed: "This sale was closed",
  };
  countdown.textContent = text[state] || "";
  if (buy) buy.disabled = purchasing || state !== "open";
  if (remind) remind.hidden = state !== "upcoming" || remindedOf === null;
}

// "Remind me" before an upcoming sale opens, or cancel it.
const remind = document.getElementById("remind");
const remindStatus = document.getElementById("remind-status");
let remindedOf = null;  // whether this user will be reminded; null until known

function showReminder(subscribed) {
  remindedOf = subscribed;
  remind.textContent = subscribed ? "Cancel reminder" : "Remind me";
  remind.setAttribute("aria-pressed", String(subscribed));
  render();
}

async function toggleReminder() {
  remind.disabled = true;
  const result = await api(remindedOf ? "DELETE" : "POST", `/api/seckill/${sale.id}/reminder`);
  remind.disabled = false;
  if (![200, 201].includes(result.status)) return say(remindStatus, "error", errorMessage(result));
  showReminder(result.data.subscribed);
  let text = "Reminder cancelled.";
  if (result.data.sent_already) text = "The reminders for this sale have gone out already: it opens in a few minutes, so stay on this page.";
  else if (result.data.subscribed) text = "We will remind you a few minutes before it opens.";
  say(remindStatus, "success", text);
}

if (remind) {
  remind.addEventListener("click", toggleReminder);
  api("GET", `/api/seckill/${sale.id}/reminder`).then((result) => {
    if (result.status === 200) showReminder(result.data.subscribed);
  });
}

async function purchase() {
  purchasing = true;
  render();
  say(status, "pending", "Sending your order…");
  const result = await api("POST", `/api/seckill/${sale.id}`, {});
  if (result.status === 202 || result.status === 409) {
    if (result.status === 409) say(status, "pending", "You already bought this one; checking your order…");
    return follow(result.data.seckill_id);
  }
  purchasing = result.status === 410;
  say(status, "error", errorMessage(result));
  refresh();
}

async function follow(seckillId) {
  purchasing = true;
  render();
  const result = await api("GET", `/api/seckill/result/${seckillId}`);
  if (result.status === 404) return showPurchase();  // its result expired: ask the order
  if (result.status !== 200) {
    say(status, "pending", "Checking your order…");
    return setTimeout(() => follow(seckillId), 2000);
  }
  const body = result.data;
  if (body.code === 102 || body.code === 103) {
    say(status, "pending", body.code === 102 ? "You got one! In the queue for your order…" : "Writing your order…");
    return setTimeout(() => follow(seckillId), 2000);
  }
  if (body.code === 100) return showPurchase();
  say(status, "error", body.message);
}

// What the server knows of this buyer's purchase: nothing yet, a reservation
// whose order is being written, or the order (waiting for payment, paid, cancelled).
async function showPurchase() {
  const result = await api("GET", `/api/seckill/activities/${sale.id}/purchase`);
  if (result.status !== 200) {
    say(status, "pending", "Checking your order…");
    return setTimeout(showPurchase, 2000);
  }
  const purchase = result.data.purchase;
  purchasing = purchase !== null;
  render();
  if (!purchase) return;
  const order = purchase.order;
  if (!order) return follow(purchase.seckill_id);
  pay.hidden = order.status !== "pending_payment";
  if (order.status === "pending_payment") {
    say(status, "success", `Your order #${order.id} is placed. Pay to keep it.`);
    showPay(order.id);
  } else if (order.status === "paid") {
    say(status, "success", `Paid. Order #${order.id} is yours.`);
  } else {
    say(status, "error", `Order #${order.id} was cancelled: it was not paid in time.`);
  }
}

function showPay(orderId) {
  pay.hidden = false;
  pay.onclick = async () => {
    pay.disabled = true;
    const result = await api("POST", `/api/seckill/orders/${orderId}/pay`, {});
    pay.disabled = false;
    if (result.status !== 200) say(status, "error", errorMessage(result));
    showPurchase();
  };
}

if (buy) buy.addEventListener("click", purchase);
refresh().then(() => {
  if (buy) showPurchase();
});
setInterval(render, 250);
setInterval(refresh, 2000);
