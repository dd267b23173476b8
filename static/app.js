// Shared helpers for every page: JSON calls to /api and the logout button.
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
    return {status: 0, data: {error: {code: "network", message: "The server cannot be reached. Check your connection."}}};
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
  return (result.data && result.data.error && result.data.error.message) || `Something went wrong (${result.status}).`;
}

// "Log out" ends this browser's session; "everywhere" ends every session of the user.
for (const [id, everywhere] of [["logout", false], ["logout-everywhere", true]]) {
  const button = document.getElementById(id);
  if (!button) continue;
  button.addEventListener("click", async () => {
    await api("POST", "/api/logout", {everywhere});
    window.location.assign("/");
  });
}
