// The variable list saves as it is typed: a note or a year is sent for its item half a
// second after the typing stops, and whatever is still unsent when the page is left goes by
// sendBeacon. Without JavaScript every button of the list's one form saves everything typed.
(function () {
  "use strict";
  const form = document.getElementById("list-form");
  if (!form || !window.fetch || !window.URLSearchParams) return;
  const WAIT = 500;  // ms after the last key before an item is sent
  const SAVE_URL = form.getAttribute("action");  // not form.action: the buttons named "action" hide it
  const pending = new Map();  // item -> timer of its unsent changes

  function fields(item) {
    const body = new URLSearchParams();
    body.append("variable", item.dataset.variable);
    item.querySelectorAll("textarea[name=note], input[name=from], input[name=to]").forEach(function (field) {
      body.append(field.name, field.value);
    });
    body.append("action", "save");
    return body;
  }

  function status(item, text) {
    const shown = item.querySelector(".save-status");
    if (shown) shown.textContent = text;
  }

  function showWarnings(item, warnings) {
    const list = item.querySelector(".year-warnings");
    if (!list || !warnings) return;
    list.replaceChildren.apply(list, warnings.map(function (text) {
      const entry = document.createElement("li");
      entry.textContent = text;
      return entry;
    }));
  }

  async function save(item) {
    clearTimeout(pending.get(item));
    pending.delete(item);
    status(item, form.dataset.saving);
    try {
      const response = await fetch(SAVE_URL, {
        method: "POST", credentials: "same-origin", headers: {Accept: "application/json"}, body: fields(item)});
      const body = await response.json();
      if (!response.ok) {
        status(item, form.dataset.failed + ": " + (body.detail || []).map(function (p) { return p.message; }).join(" "));
        return;
      }
      showWarnings(item, (body.warnings || {})[item.dataset.variable]);
      status(item, form.dataset.saved);
    } catch (error) {
      status(item, form.dataset.failed);
    }
  }

  form.addEventListener("input", function (event) {
    const item = event.target.closest("li.list-item");
    if (!item) return;
    clearTimeout(pending.get(item));
    pending.set(item, setTimeout(function () { save(item); }, WAIT));
  });

  function flush() {
    pending.forEach(function (timer, item) {
      clearTimeout(timer);
      if (!(navigator.sendBeacon && navigator.sendBeacon(SAVE_URL, fields(item)))) save(item);
    });
    pending.clear();
  }
  window.addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") flush(); });
  // A button of the form sends every field anyway: nothing is left pending to send twice.
  form.addEventListener("submit", function () { pending.forEach(clearTimeout); pending.clear(); });
})();
