// Sale cards (home page, /sales): a live countdown on each upcoming sale, and
// every 10 s the stock and state from the server. A sale that opens or sells
// out is announced once to screen readers; the seconds are not.
(function () {
  const grid = document.getElementById("sales");
  if (!grid) return;
  const cards = new Map([...grid.querySelectorAll(".sale-card")].map((card) => [card.dataset.saleId, card]));
  const news = document.createElement("p");
  news.className = "visually-hidden";
  news.setAttribute("role", "status");
  grid.after(news);
  serverClock.sync(grid.dataset.serverTime, Date.now());

  const LABELS = {
    upcoming: t("Upcoming"),
    open: t("Open now"),
    paused: t("Paused, back in a moment"),
    sold_out: t("Sold out"),
    ended: t("Ended"),
    closed: t("Closed"),
  };

  function setState(card, state) {
    if (card.dataset.state === state) return;
    const was = card.dataset.state;
    card.dataset.state = state;
    const badge = card.querySelector("[data-role=badge]");
    badge.className = `badge state-${state}`;
    badge.textContent = LABELS[state];
    const title = card.querySelector(".card-title").textContent.trim();
    if (was === "upcoming" && state === "open") news.textContent = t("{title} is open now.", {title});
    if (state === "sold_out") news.textContent = t("{title} is sold out.", {title});
  }

  function tick() {
    const now = serverClock.now();
    for (const card of cards.values()) {
      let state = card.dataset.state;
      const startsIn = Date.parse(card.dataset.startsAt) - now;
      const endsIn = Date.parse(card.dataset.endsAt) - now;
      if (state === "upcoming" && startsIn <= 0) state = "open";  // the next refresh confirms
      if (["open", "paused", "sold_out"].includes(state) && endsIn <= 0) state = "ended";
      setState(card, state);
      const countdown = card.querySelector("[data-role=countdown]");
      countdown.textContent = state === "upcoming" ? t("Opens in {time}", {time: clock(startsIn)})
        : state === "open" ? t("Ends in {time}", {time: clock(endsIn)}) : "";
    }
  }

  async function refresh() {
    const sent = Date.now();
    const result = await api("GET", "/api/seckill/activities");
    if (result.status !== 200) return;
    serverClock.sync(result.data.server_time, sent);
    for (const sale of result.data.activities) {
      const card = cards.get(String(sale.id));
      if (!card) continue;
      const left = sale.stock_left ?? sale.total_stock;
      card.querySelector("[data-role=stock-bar]").value = left;
      card.querySelector("[data-role=stock-text]").textContent =
        tn("{n} of {total} left", "{n} of {total} left", left, {total: sale.total_stock});
      setState(card, sale.state);
    }
    tick();
  }

  tick();
  refresh();
  setInterval(tick, 1000);
  setInterval(refresh, 10000);
})();
