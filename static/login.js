// The login page: send a code (with a resend countdown and the send task's
// progress), then log in with it.
(function () {
  const sendForm = document.getElementById("send-form");
  const sendButton = document.getElementById("send");
  const sendStatus = document.getElementById("send-status");
  const target = document.getElementById("target");
  const targetLabel = document.getElementById("target-label");
  const loginForm = document.getElementById("login-form");
  const loginStatus = document.getElementById("login-status");
  const code = document.getElementById("code");
  const codeLength = Number(loginForm.dataset.codeLength);
  // A send still unfinished after this long (and after the resend cooldown) is
  // given up on: a worker may have died with it. It may still arrive, but the
  // page stops waiting and offers a new code.
  const sendWait = Number(sendForm.dataset.sendWait);
  let countdownTimer = null;
  let pollTimer = null;
  let sentTo = null;  // the target the last code went to; the cooldown is per target

  // The server checked it already; the browser's own URL parser checks again
  // (it reads a backslash as a slash and drops tabs, as navigation would).
  function sameOriginPath(path) {
    const url = new URL(path || "/", window.location.origin);
    return url.origin === window.location.origin ? url.pathname + url.search + url.hash : "/";
  }

  function channel() {
    return sendForm.querySelector("input[name=channel]:checked").value;
  }

  function show(element, text, kind) {
    say(element, kind || "", text);
  }

  function startCountdown(seconds) {
    clearInterval(countdownTimer);
    let left = Math.max(1, Math.ceil(seconds));
    sendButton.disabled = true;
    const tick = () => {
      if (left <= 0) {
        stopCountdown();
        return;
      }
      sendButton.textContent = t("Resend in {seconds} s", {seconds: left});
      left -= 1;
    };
    tick();
    countdownTimer = setInterval(tick, 1000);
  }

  const STATES = {
    PENDING: [t("Queued for sending…"), "pending"],
    STARTED: [t("Sending…"), "pending"],
    RETRY: [t("The provider is slow; retrying…"), "pending"],
    SUCCESS: [t("Sent. Check your inbox or phone for the code."), "success"],
  };

  // ALTCHA's proof of work: the number whose SHA-256 with the salt is the
  // challenge. Many codes were asked for lately (for this address or from this
  // network); solving costs this browser a second or two, and a script that
  // hammers an address as much for every request.
  async function solve(challenge, onProgress) {
    const encoder = new TextEncoder();
    const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
    const batch = 1000;
    for (let start = 0; start <= challenge.maxnumber; start += batch) {
      const numbers = [];
      for (let n = start; n < start + batch && n <= challenge.maxnumber; n++) numbers.push(n);
      const hashes = await Promise.all(numbers.map((n) => crypto.subtle.digest("SHA-256", encoder.encode(challenge.salt + n))));
      const found = hashes.findIndex((hash) => hex(hash) === challenge.challenge);
      if (found >= 0) {
        const {algorithm, salt, signature} = challenge;
        return btoa(JSON.stringify({algorithm, challenge: challenge.challenge, number: numbers[found], salt, signature}));
      }
      onProgress(Math.min(99, Math.floor((100 * start) / challenge.maxnumber)));
    }
    return null;
  }

  async function requestCode(body) {
    let result = await api("POST", "/api/codes", body);
    if (result.status === 428 && result.data.challenge) {
      const proof = await solve(result.data.challenge, (percent) =>
        show(sendStatus, t("Many codes were asked for lately; checking this browser… {percent}", {percent: `${percent}%`}), "pending"));
      result = proof ? await api("POST", "/api/codes", {...body, proof}) : result;
    }
    return result;
  }

  function stopCountdown() {
    clearInterval(countdownTimer);
    sendButton.disabled = false;
    sendButton.textContent = t("Send code");
  }

  function pollTask(taskId, resendAfter) {
    clearTimeout(pollTimer);
    const giveUpAt = Date.now() + 1000 * Math.max(sendWait, resendAfter);
    const poll = async () => {
      const result = await api("GET", `/api/tasks/${taskId}`);
      if (result.status !== 200) {
        show(sendStatus, errorMessage(result), "error");
        return;
      }
      const task = result.data;
      if (task.state === "FAILURE") {
        show(sendStatus, t("We could not send the code. Check the address or number and try again."), "error");
        return;
      }
      if (!task.ready && Date.now() > giveUpAt) {
        stopCountdown();
        show(sendStatus, t("This is taking longer than it should. The code may still arrive; if it does not, send a new one."), "error");
        return;
      }
      const [text, kind] = STATES[task.state] || STATES.STARTED;
      show(sendStatus, text, kind);
      if (!task.ready) pollTimer = setTimeout(poll, 1000);
    };
    poll();
  }

  // A corrected address is a new target: its own cooldown, no "Sent" from the old one.
  target.addEventListener("input", () => {
    if (sentTo === null || target.value.trim() === sentTo) return;
    sentTo = null;
    clearTimeout(pollTimer);
    stopCountdown();
    show(sendStatus, "", "");
  });

  sendForm.addEventListener("change", (event) => {
    if (event.target.name !== "channel") return;
    const sms = channel() === "sms";
    targetLabel.textContent = sms ? t("Phone number") : t("E-mail address");
    target.autocomplete = sms ? "tel" : "email";
    target.inputMode = sms ? "tel" : "email";
  });

  sendForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!target.value.trim()) {
      show(sendStatus, channel() === "sms" ? t("Enter your phone number.") : t("Enter your e-mail address."), "error");
      return;
    }
    sendButton.disabled = true;
    show(sendStatus, t("Requesting a code…"), "pending");
    const result = await requestCode({channel: channel(), target: target.value.trim(), purpose: "login"});
    if (result.status === 202) {
      sentTo = target.value.trim();
      startCountdown(result.data.resend_after);
      pollTask(result.data.task_id, result.data.resend_after);
      code.focus();
    } else {
      show(sendStatus, errorMessage(result), "error");
      if (result.retryAfter) {
        sentTo = target.value.trim();
        startCountdown(result.retryAfter);
      }
      else sendButton.disabled = false;
    }
  });

  loginForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = code.value.trim();
    if (!new RegExp(`^[0-9]{${codeLength}}$`).test(value)) {
      show(loginStatus, t("Enter the {length}-digit code.", {length: codeLength}), "error");
      return;
    }
    show(loginStatus, t("Checking…"), "pending");
    const result = await api("POST", "/api/login", {target: target.value.trim(), code: value});
    if (result.status === 200) {
      show(loginStatus, t("Logged in."), "success");
      window.location.assign(sameOriginPath(loginForm.dataset.next));
    } else {
      show(loginStatus, errorMessage(result), "error");
    }
  });
})();
