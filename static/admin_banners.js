// The banner admin: every change goes through /api/admin/banners, then the list reloads.
const rows = document.getElementById("banner-rows");
const listStatus = document.getElementById("list-status");
let banners = [];

function field(name, value, label) {
  const input = document.createElement("input");
  input.name = name;
  input.value = value || "";
  input.setAttribute("aria-label", label);
  return input;
}

function button(text, onClick, kind) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  if (kind) element.className = kind;  // "secondary" or "danger"; the default is primary
  element.addEventListener("click", onClick);
  return element;
}

function render() {
  rows.replaceChildren();
  banners.forEach((banner, index) => {
    const row = document.createElement("tr");
    row.dataset.id = banner.id;
    row.dataset.testid = "banner-row";
    if (!banner.is_show) row.dataset.hidden = "true";
    const status = document.createElement("span");
    status.className = "status row-status";
    status.setAttribute("role", "status");
    const title = field("title", banner.title, `Title of banner ${banner.id}`);
    const image = field("image_url", banner.image_url, `Image URL of banner ${banner.id}`);
    const link = field("link_url", banner.link_url, `Link of banner ${banner.id}`);
    const shown = document.createElement("input");
    shown.type = "checkbox";
    shown.checked = banner.is_show;
    shown.setAttribute("aria-label", `Show banner ${banner.id}`);
    const hiddenMark = document.createElement("span");
    hiddenMark.className = "badge";
    hiddenMark.textContent = "hidden";
    hiddenMark.hidden = banner.is_show;

    const save = button("Save", async () => {
      say(status, "pending", "Saving…");
      const result = await api("PATCH", `/api/admin/banners/${banner.id}`, {
        title: title.value, image_url: image.value, link_url: link.value, is_show: shown.checked,
      });
      if (result.status !== 200) {
        showFieldError(row, result);
        return say(status, "error", errorMessage(result));
      }
      await load();
      say(listStatus, "success", `Saved “${result.data.banner.title}”.`);
    });
    const remove = button("Delete", async () => {
      if (!window.confirm(`Delete “${banner.title}”?`)) return;
      say(status, "pending", "Deleting…");
      const result = await api("DELETE", `/api/admin/banners/${banner.id}`);
      if (result.status !== 204) return say(status, "error", errorMessage(result));
      await load();
      say(listStatus, "success", `Deleted “${banner.title}”.`);
    }, "danger");
    const up = button("Up", () => move(index, -1), "secondary");
    const down = button("Down", () => move(index, 1), "secondary");
    up.setAttribute("aria-label", `Move banner ${banner.id} up`);
    down.setAttribute("aria-label", `Move banner ${banner.id} down`);
    up.disabled = index === 0;
    down.disabled = index === banners.length - 1;

    const cells = [[up, down], [title], [image], [link], [shown, " ", hiddenMark], [save, remove, status]];
    cells.forEach((children, i) => {
      const cell = document.createElement("td");
      if (i === cells.length - 1 || i === 0) cell.className = "actions";
      cell.append(...children);
      row.append(cell);
    });
    rows.append(row);
    previewPicture(image);
  });
}

async function move(index, step) {
  const ids = banners.map((banner) => banner.id);
  [ids[index], ids[index + step]] = [ids[index + step], ids[index]];
  say(listStatus, "pending", "Saving the new order…");
  const result = await api("PUT", "/api/admin/banners/order", {ids});
  if (result.status !== 200) return say(listStatus, "error", errorMessage(result));
  banners = result.data.banners;
  render();
  say(listStatus, "success", "Order saved.");
}

async function load() {
  const result = await api("GET", "/api/admin/banners");
  if (result.status !== 200) return say(listStatus, "error", errorMessage(result));
  banners = result.data.banners;
  render();
  say(listStatus, "success", banners.length ? "" : "No banners yet: add the first one below.");
}

const newBanner = document.getElementById("new-banner");
previewPicture(newBanner.image_url);

newBanner.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const status = document.getElementById("new-status");
  say(status, "pending", "Adding…");
  const result = await api("POST", "/api/admin/banners", {
    title: form.title.value,
    image_url: form.image_url.value,
    link_url: form.link_url.value,
    is_show: form.is_show.checked,
  });
  if (result.status !== 201) {
    showFieldError(form, result);
    return say(status, "error", errorMessage(result));
  }
  clearFieldErrors(form);
  form.reset();
  await load();
  say(status, "success", `Added “${result.data.banner.title}”.`);
});

load();
