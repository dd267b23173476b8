// Shared helpers for every page: words in the page's language, JSON calls to
// /api, countdowns on the server's clock, pictures that fail, and logout.

// The page's translations of the messages below (empty in English): t("...")
// and tn("...", "...", n) calls are what pybabel extracts into the catalogue.
const MESSAGES = JSON.parse(document.getElementById("messages")?.textContent || "{}");

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

function t(text, params = {}) {
  return fill(typeof MESSAGES[text] === "string" ? MESSAGES[text] : text, params);
}

function tn(one, other, n, params = {}) {
  const forms = Array.isArray(MESSAGES[one]) ? MESSAGES[one] : [one, other];
  return fill(forms[n === 1 ? 0 : 1], {n, ...params});
}

// Every write carries a JSON body ({} when it needs no fields): /api refuses others.
async function api(method, path, body) {
  const options = {method, headers: {"Accept": "application/json"}, credentials: "same-origin"};
  if (body === undefined && method !== "GET") body = {};
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    return {status: 0, data: {error: {code: "network", message: t("The server cannot be reached. Check your connection.")}}};
  }
  let data = {};
  if (response.status !== 204) {
    try { data = await response.json(); } catch (err) { data = {}; }
  }
  const retryAfter = Number(response.headers.get("Retry-After") || 0);
  return {status: response.status, data, retryAfter};
}

// A status line's text and kind (pending, success, error), which the CSS colours.
function say(element, kind, text) {
  element.dataset.kind = kind;
  element.textContent = text;
}

// What a write did: its error, the warning of a write saved with a caveat, or success.
function sayOutcome(element, result, okStatus, successText) {
  if (result.status !== okStatus) return say(element, "error", errorMessage(result));
  if (result.data.warning) return say(element, "error", result.data.warning);
  say(element, "success", successText);
}

function errorMessage(result) {
  return (result.data && result.data.error && result.data.error.message) || t("Something went wrong ({status}). Try again.", {status: result.status});
}

// The server's clock, as this browser reckons it: countdowns must not depend
// on a wrong clock on the phone. `sync` takes a server time and when it was asked.
const serverClock = {
  offset: 0,
  sync(serverTime, sentAt, receivedAt = Date.now()) {
    this.offset = Date.parse(serverTime) - (sentAt + receivedAt) / 2;
  },
  now() {
    return Date.now() + this.offset;
  },
};

// A time as every page writes it, in the shop's zone: "Dec 2, 2026, 21:44"
// ("2026年12月2日 21:44"), the server's format (Babel and Intl share CLDR).
// The footer names the zone.
const TIME_FORMATS = {};
function shopTime(moment, {seconds = false} = {}) {
  if (moment === null || moment === undefined || moment === "") return "";
  const key = seconds ? "s" : "m";
  TIME_FORMATS[key] ??= new Intl.DateTimeFormat(document.documentElement.lang, {
    timeZone: document.body.dataset.timezone, year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", ...(seconds ? {second: "2-digit"} : {}), hourCycle: "h23",
  });
  return TIME_FORMATS[key].format(new Date(moment));
}

// "02:05" or "1:02:05": what is left, to the second.
function clock(ms) {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

// A picture that fails to load gives way to the placeholder its data-fallback names.
function guardPictures(root = document) {
  for (const image of root.querySelectorAll("img[data-fallback]")) {
    const fallBack = () => {
      if (image.src.endsWith(image.dataset.fallback)) return;
      image.src = image.dataset.fallback;
      image.classList.add("fallback");
    };
    image.addEventListener("error", fallBack);
    if (image.complete && image.naturalWidth === 0 && image.currentSrc) fallBack();
  }
}
guardPictures();

// "Log out" ends this browser's session; "everywhere" ends every session of the user.
for (const [id, everywhere] of [["logout", false], ["logout-everywhere", true]]) {
  const button = document.getElementById(id);
  if (!button) continue;
  button.addEventListener("click", async () => {
    await api("POST", "/api/logout", {everywhere});
    window.location.assign("/");
  });
}
