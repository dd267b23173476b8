// A flash sale's page: countdown on the server's clock, buy, then poll the result
// every 2 s. The buyer's purchase comes from the server, so any device shows it.
const sale = {id: Number(document.getElementById("sale").dataset.saleId)};
const root = document.getElementById("sale");
const stockBar = document.getElementById("stock-bar");
const stockText = document.getElementById("stock-text");
const countdown = document.getElementById("countdown");
const news = document.getElementById("sale-news");
const buy = document.getElementById("buy");
const loginToBuy = document.getElementById("login-to-buy");
const pay = document.getElementById("pay");
const payCountdown = document.getElementById("pay-countdown");
const ordersLink = document.getElementById("orders-link");
const status = document.getElementById("buy-status");
const boughtNote = document.getElementById("bought");
let activity = null;
let payBy = null;        // when the buyer's unpaid order is cancelled
let purchasing = false;  // a purchase is under way or done: the buy button stays off
let bought = false;      // the server knows this buyer's purchase: no Buy button at all

async function refresh() {
  const sent = Date.now();
  const result = await api("GET", `/api/seckill/activities/${sale.id}`);
  if (result.status !== 200) return;
  serverClock.sync(result.data.server_time, sent);
  activity = result.data.activity;
  const left = activity.stock_left ?? activity.total_stock;
  stockBar.value = left;
  stockText.textContent = tn("{n} of {total} left", "{n} of {total} left", left, {total: activity.total_stock});
  render();
}

// Screen readers hear a change of state once (open, sold out), not every second.
function announce(state) {
  const text = {open: t("The sale is open."), sold_out: t("Sold out."), ended: t("This sale is over.")}[state];
  if (text && root.dataset.state !== "loading") news.textContent = text;
}

function render() {
  if (!activity) return;
  const now = serverClock.now();
  const startsIn = Date.parse(activity.starts_at) - now;
  const endsIn = Date.parse(activity.ends_at) - now;
  let state = activity.state;
  if (state === "upcoming" && startsIn <= 0) state = "open";  // the next refresh confirms
  if ((state === "open" || state === "paused") && endsIn <= 0) state = "ended";
  if (root.dataset.state !== state) {
    announce(state);
    root.dataset.state = state;
  }
  const text = {
    upcoming: t("Opens in {time}", {time: clock(startsIn)}),
    open: t("Open now · ends in {time}", {time: clock(endsIn)}),
    paused: t("Paused, back in a moment"),
    sold_out: t("Sold out"),
    ended: t("This sale is over"),
    closed: t("This sale was closed"),
  };
  countdown.textContent = text[state] || "";
  if (buy) {
    buy.disabled = purchasing || state !== "open";
    buy.hidden = bought;
    boughtNote.hidden = !bought;
  }
  if (loginToBuy) loginToBuy.hidden = state !== "upcoming" && state !== "open";
  if (remind) remind.hidden = state !== "upcoming" || remindedOf === null;
  if (payBy !== null) {
    const left = payBy - now;
    payCountdown.textContent = left > 0 ? t("{time} left to pay", {time: clock(left)}) : "";
    if (left <= 0) {
      payBy = null;
      showPurchase();  // the server says whether it was cancelled
    }
  }
}

// "Remind me" before an upcoming sale opens, or cancel it.
const remind = document.getElementById("remind");
const remindStatus = document.getElementById("remind-status");
let remindedOf = null;  // whether this user will be reminded; null until known

function showReminder(subscribed) {
  remindedOf = subscribed;
  remind.textContent = subscribed ? t("Cancel reminder") : t("Remind me");
  remind.setAttribute("aria-pressed", String(subscribed));
  render();
}

async function toggleReminder() {
  remind.disabled = true;
  const result = await api(remindedOf ? "DELETE" : "POST", `/api/seckill/${sale.id}/reminder`);
  remind.disabled = false;
  if (![200, 201].includes(result.status)) return say(remindStatus, "error", errorMessage(result));
  showReminder(result.data.subscribed);
  let text = t("Reminder cancelled.");
  if (result.data.sent_already) text = t("The reminders for this sale have gone out already: it opens in a few minutes, so stay on this page.");
  else if (result.data.subscribed) text = t("We will remind you a few minutes before it opens.");
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
  say(status, "pending", t("Sending your order…"));
  const result = await api("POST", `/api/seckill/${sale.id}`, {});
  if ([200, 202, 409].includes(result.status)) {
    if (result.status === 409) say(status, "pending", t("You already bought this one; checking your order…"));
    // 200: taken, but not yet on a second server; a failover now could lose it.
    return follow(result.data.seckill_id, result.status === 200);
  }
  if (result.status === 503 && result.data?.error?.code === "sale_paused") {
    say(status, "pending", t("The sale is paused for a moment. Trying again…"));
    return setTimeout(purchase, 1000 * (result.retryAfter || 1));
  }
  purchasing = result.status === 410;
  say(status, "error", errorMessage(result));
  refresh();
}

async function follow(seckillId, unconfirmed = false) {
  purchasing = true;
  render();
  const result = await api("GET", `/api/seckill/result/${seckillId}`);
  // Its result expired: ask the order. Or, unconfirmed, a failover lost it.
  if (result.status === 404) return showPurchase(unconfirmed);
  if (result.status !== 200) {
    say(status, "pending", t("Checking your order…"));
    return setTimeout(() => follow(seckillId), 2000);
  }
  const body = result.data;
  if (body.code === 102 || body.code === 103) {
    say(status, "pending", body.code === 102 ? t("You got one! In the queue for your order…") : t("Writing your order…"));
    return setTimeout(() => follow(seckillId, unconfirmed), 2000);
  }
  if (body.code === 100) return showPurchase();
  say(status, "error", body.message);
}

// What the server knows of this buyer's purchase: nothing yet, a reservation
// whose order is being written, or the order (waiting for payment, paid, cancelled).
async function showPurchase(mayBeLost = false) {
  const result = await api("GET", `/api/seckill/activities/${sale.id}/purchase`);
  if (result.status !== 200) {
    say(status, "pending", t("Checking your order…"));
    return setTimeout(() => showPurchase(mayBeLost), 2000);
  }
  const purchase = result.data.purchase;
  purchasing = bought = purchase !== null;
  render();
  if (!purchase && mayBeLost) say(status, "error", t("Our server switched over just as you bought, and your order was lost. Press Buy again."));
  if (!purchase) return;
  const order = purchase.order;
  if (!order) return follow(purchase.seckill_id);
  ordersLink.hidden = false;
  pay.hidden = order.status !== "pending_payment";
  payBy = order.pay_by ? Date.parse(order.pay_by) : null;
  if (order.status === "pending_payment" && payBy <= serverClock.now()) {
    // Its time ran out and the worker has not cancelled it yet: a payment
    // would be refused. Ask again in a moment, not every frame.
    payBy = null;
    pay.hidden = true;
    payCountdown.textContent = "";
    say(status, "error", t("The time to pay is over: this order is being cancelled."));
    setTimeout(showPurchase, 2000);
  } else if (order.status === "pending_payment") {
    say(status, "success", t("Your order #{id} is placed. Pay to keep it.", {id: order.id}));
    showPay(order.id);
  } else if (order.status === "paid") {
    payCountdown.textContent = "";
    say(status, "success", t("Paid. Order #{id} is yours.", {id: order.id}));
  } else {
    payCountdown.textContent = "";
    say(status, "error", t("Order #{id} was cancelled: it was not paid in time.", {id: order.id}));
  }
  render();
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
