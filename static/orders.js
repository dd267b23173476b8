// My orders: a countdown to each unpaid order's cancellation, and its Pay button.
(function () {
  const list = document.getElementById("orders");
  if (!list) return;
  serverClock.sync(list.dataset.serverTime, Date.now());
  const unpaid = [...list.querySelectorAll(".order[data-pay-by]")];

  function tick() {
    const now = serverClock.now();
    for (const order of unpaid) {
      if (order.dataset.status !== "pending_payment") continue;  // cancelled, or its time is up
      const left = Date.parse(order.dataset.payBy) - now;
      const line = order.querySelector("[data-role=pay-countdown]");
      if (left > 0) line.textContent = t("{time} left to pay, or the order is cancelled.", {time: clock(left)});
      else {
        order.dataset.status = "expired";
        line.textContent = t("The time to pay is over: this order is being cancelled.");
        order.querySelector("[data-role=pay]").disabled = true;
      }
    }
  }

  for (const order of unpaid) {
    const button = order.querySelector("[data-role=pay]");
    const status = order.querySelector("[data-role=status]");
    button.addEventListener("click", async () => {
      button.disabled = true;
      say(status, "pending", t("Paying…"));
      const result = await api("POST", `/api/seckill/orders/${order.dataset.orderId}/pay`, {});
      if (result.status === 200) {
        say(status, "success", t("Paid. Thank you!"));
        window.location.reload();
      } else if (result.status === 409) {  // its time to pay ran out: it is cancelled now
        order.dataset.status = "cancelled";
        say(status, "error", errorMessage(result));
        order.querySelector("[data-role=pay-countdown]").textContent = "";
      } else {
        say(status, "error", errorMessage(result));
        button.disabled = order.dataset.status !== "pending_payment";
      }
    });
  }
  tick();
  setInterval(tick, 1000);
})();
