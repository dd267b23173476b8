// What every admin page shares: errors beside their fields, picture
// previews, tables that stack on a phone, and the menu that folds there.

// An error the API tied to one field ("field" in the answer), shown beside
// that field and announced; the field is the input whose data-field (or
// name) is the API's name for it. False when the error is about no field.
function showFieldError(container, result) {
  clearFieldErrors(container);
  const field = result.data?.error?.field;
  const input = field && container.querySelector(`[data-field="${field}"], [name="${field}"]`);
  if (!input) return false;
  const note = document.createElement("span");
  note.className = "field-error";
  note.id = `error-${field}-${Math.random().toString(36).slice(2, 8)}`;
  note.setAttribute("role", "alert");
  note.textContent = errorMessage(result);
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", note.id);
  input.after(note);
  input.focus();
  return true;
}

function clearFieldErrors(container) {
  for (const note of container.querySelectorAll(".field-error")) note.remove();
  for (const input of container.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
}

// A picture address previewed beside its field as it is typed: a picture
// that does not load shows as broken before anything is saved. The browser
// loads it, as a shopper's would; the server never fetches addresses.
function previewPicture(input) {
  const preview = document.createElement("span");
  preview.className = "picture-preview";
  const image = document.createElement("img");
  image.alt = "";
  const note = document.createElement("span");
  note.className = "status";
  preview.append(image, note);
  input.after(preview);
  const show = () => {
    const address = input.value.trim();
    preview.dataset.state = address ? "loading" : "empty";
    note.textContent = "";
    if (address) image.src = address; else image.removeAttribute("src");
  };
  image.addEventListener("load", () => { preview.dataset.state = "ok"; say(note, "success", "Loads"); });
  image.addEventListener("error", () => {
    if (!input.value.trim()) return;
    preview.dataset.state = "broken";
    say(note, "error", "This picture does not load: check the address.");
  });
  input.addEventListener("input", show);
  show();
  return preview;
}

// Admin tables turn into stacked rows on a phone: each cell carries its
// column's name, whichever script fills the table, whenever it does.
for (const table of document.querySelectorAll("table.admin-table")) {
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  const label = () => {
    for (const row of table.tBodies[0]?.rows || []) {
      [...row.cells].forEach((cell, i) => { if (cell.colSpan === 1) cell.dataset.label = names[i] || ""; });
    }
  };
  new MutationObserver(label).observe(table, {childList: true, subtree: true});
  label();
}

// The admin menu folds on a phone behind its button.
const adminNav = document.querySelector(".admin-nav");
adminNav?.querySelector(".admin-menu-toggle").addEventListener("click", (event) => {
  const open = adminNav.classList.toggle("open");
  event.currentTarget.setAttribute("aria-expanded", String(open));
});
