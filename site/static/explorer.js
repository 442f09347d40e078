// The explorer without full page loads: the search form, facet links, pager links and the
// column chooser fetch the new page as HTML and swap in its results (#explorer-results);
// "Add to list" posts in the background. Every one of them is a plain link or form, so the
// page works the same without JavaScript; anything unexpected falls back to loading the page.
(function () {
  "use strict";
  const RESULTS = "explorer-results";
  const STORED_COLUMNS = "helsevariabler.explorer.columns";
  if (!document.getElementById(RESULTS) || !window.fetch || !window.DOMParser || !window.history.pushState) return;

  const searchForm = document.getElementById("search-form");
  const resultCount = document.getElementById("result-count");
  const listStatus = document.getElementById("list-status");
  let shown = location.pathname + location.search;  // the URL whose results are on the page
  let controller = null;
  let sequence = 0;

  // ---- remembered columns --------------------------------------------------------------

  function storage(action, value) {
    try {  // storage can be switched off, full, or refuse in private windows
      if (action === "get") return window.localStorage.getItem(STORED_COLUMNS);
      window.localStorage.setItem(STORED_COLUMNS, value);
    } catch (error) { /* columns are then not remembered */ }
    return null;
  }

  function renderedColumns() {
    const container = document.getElementById(RESULTS);
    return container ? container.dataset.columns || "" : "";
  }

  function knownColumns() {
    return Array.from(document.querySelectorAll("#column-form input[name=cols]"), function (box) { return box.value; });
  }

  function rememberColumns(url) {
    if (new URL(url, location.href).searchParams.has("cols") && renderedColumns()) {
      storage("set", renderedColumns());
    }
  }

  // ---- announcing ----------------------------------------------------------------------

  // Live regions announce changes; clearing first makes a repeated message heard again.
  function say(region, content) {
    if (!region) return;
    const put = function () {
      if (typeof content === "string") region.textContent = content;
      else region.replaceChildren.apply(region, content);
    };
    const text = typeof content === "string" ? content : content.map(function (n) { return n.textContent; }).join("");
    if (region.textContent !== text) { put(); return; }
    region.textContent = "";
    window.setTimeout(put, 150);
  }

  // ---- loading a page of results -------------------------------------------------------

  function sameOrigin(url) {
    return url.origin === location.origin && url.pathname === location.pathname;
  }

  function fallback(url, how) {
    if (how === "replace") location.replace(url);
    else location.assign(url);
  }

  // opts.history: "push" | "replace" | "none"; opts.focus: a function returning the element
  // to focus in the new results (or null to leave focus alone, unless it was in the old ones);
  // opts.announce: false not to say the count; opts.fromSearchForm: leave the form's fields be.
  async function navigate(url, opts) {
    url = new URL(url, location.href);
    url.hash = "";
    const how = opts.history || "push";
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = ++sequence;
    const container = document.getElementById(RESULTS);
    container.setAttribute("aria-busy", "true");
    container.classList.add("is-loading");
    let doc;
    try {
      const response = await fetch(url.href, {headers: {Accept: "text/html"}, credentials: "same-origin",
                                              signal: controller.signal});
      const type = response.headers.get("content-type") || "";
      if (!response.ok || type.indexOf("text/html") === -1) throw new Error("not a results page");
      const text = await response.text();
      doc = new DOMParser().parseFromString(text, "text/html");
    } catch (error) {
      if (error && error.name === "AbortError") return;
      fallback(url.href, how);  // the server's own page says what went wrong (e.g. a bad year)
      return;
    }
    if (mine !== sequence) return;
    const fresh = doc.getElementById(RESULTS);
    if (!fresh) { fallback(url.href, how); return; }

    const current = document.getElementById(RESULTS);
    const focusWasInside = current.contains(document.activeElement);
    const chooser = current.querySelector("#column-chooser");
    const chooserOpen = chooser && chooser.open;
    const filters = current.querySelector("#filters-fold");
    const replacement = document.importNode(fresh, true);
    if (chooserOpen) {  // the column chooser stays open if it was
      const freshChooser = replacement.querySelector("#column-chooser");
      if (freshChooser) freshChooser.open = true;
    }
    const freshFilters = replacement.querySelector("#filters-fold");
    if (filters && freshFilters) freshFilters.open = filters.open;  // folded filters stay folded
    current.replaceWith(replacement);
    sync(doc, opts.fromSearchForm);

    if (how === "push") history.pushState({explorer: true}, "", url.href);
    else if (how === "replace") history.replaceState({explorer: true}, "", url.href);
    shown = url.pathname + url.search;
    rememberColumns(url.href);

    const target = opts.focus ? opts.focus(replacement) : null;
    if (target) target.focus({preventScroll: !!opts.preventScroll});
    else if (focusWasInside) focusResults(replacement);
    const count = doc.getElementById("result-count");
    if (opts.announce !== false && count && resultCount) {
      say(resultCount, Array.from(count.childNodes, function (n) { return document.importNode(n, true); }));
    }
  }

  function focusResults(root) {
    const heading = (root || document).querySelector("#results-heading");
    if (heading) heading.focus();
    return heading;
  }

  // Bring the rest of the page in line with the new URL: the search form's hidden state (and,
  // unless the form itself asked, its fields), the header's links, the title.
  function sync(doc, fromSearchForm) {
    const state = document.getElementById("search-state");
    const freshState = doc.getElementById("search-state");
    if (state && freshState) state.replaceWith(document.importNode(freshState, true));
    const freshForm = doc.getElementById("search-form");
    if (searchForm && freshForm && !fromSearchForm) {
      ["search-q", "search-from", "search-to", "search-sort"].forEach(function (id) {
        const field = document.getElementById(id);
        const value = freshForm.querySelector("#" + id);
        if (field && value) field.value = value.value;
      });
      searchForm.querySelectorAll("input[name=period]").forEach(function (radio) {
        const twin = freshForm.querySelector("input[name=period][value='" + radio.value + "']");
        radio.checked = !!(twin && twin.hasAttribute("checked"));
      });
    }
    const header = document.querySelector("header.top");
    const freshHeader = doc.querySelector("header.top");
    if (header && freshHeader && !header.contains(document.activeElement)) {
      header.replaceWith(document.importNode(freshHeader, true));
    }
    const alternate = document.querySelector("link[rel=alternate][type='application/json']");
    const freshAlternate = doc.querySelector("link[rel=alternate][type='application/json']");
    if (alternate && freshAlternate) alternate.setAttribute("href", freshAlternate.getAttribute("href"));
    if (doc.title) document.title = doc.title;
  }

  // ---- what the user does --------------------------------------------------------------

  function plainClick(event) {
    return event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || !plainClick(event)) return;
    const link = event.target.closest && event.target.closest("a[href]");
    if (!link || !link.closest("#" + RESULTS)) return;
    const isFacet = link.matches(".facet a.facet-link");
    if (!isFacet && !link.matches(".pager a")) return;
    const url = new URL(link.href, location.href);
    if (!sameOrigin(url)) return;
    event.preventDefault();
    if (isFacet) {
      const facet = link.closest(".facet").dataset.facet;
      const value = link.dataset.value;
      navigate(url, {preventScroll: true, focus: function (root) {
        // The same value's link in the new facets, so several can be switched in a row.
        const section = Array.from(root.querySelectorAll(".facet")).find(function (s) { return s.dataset.facet === facet; });
        const twin = section && Array.from(section.querySelectorAll("a.facet-link")).find(function (a) { return a.dataset.value === value; });
        return twin || root.querySelector("#results-heading");
      }});
    } else {
      navigate(url, {focus: function (root) { return root.querySelector("#results-heading"); }});
    }
  });

  function formUrl(form, transform) {
    const url = new URL(form.getAttribute("action") || location.pathname, location.href);
    const params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string") params.append(name, value);
    });
    url.search = (transform ? transform(params) : params).toString();
    return url;
  }

  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) return;
    const form = event.target;
    if (form === searchForm) {
      event.preventDefault();
      const url = formUrl(form, function (params) {
        // Empty fields say nothing: leave them out (an empty year is not a year).
        const kept = new URLSearchParams();
        params.forEach(function (value, name) { if (value.trim() !== "") kept.append(name, value); });
        return kept;
      });
      navigate(url, {fromSearchForm: true, focus: null});
    } else if (form.id === "column-form") {
      event.preventDefault();
      const url = formUrl(form, function (params) {
        const chosen = params.getAll("cols");
        params.delete("cols");
        // One comma-separated value, in the table's order (the boxes are in that order).
        params.append("cols", chosen.join(","));
        return params;
      });
      navigate(url, {focus: function (root) {
        return root.querySelector("#column-form button[type=submit]") || root.querySelector("#results-heading");
      }});
    } else if (form.matches("form.add-to-list")) {
      event.preventDefault();
      addToList(form);
    }
  });

  window.addEventListener("popstate", function () {
    if (location.pathname + location.search === shown) return;  // only the #fragment changed
    navigate(location.href, {history: "none", focus: null});
  });

  // ---- the list ------------------------------------------------------------------------

  function showCount(count) {
    if (typeof count !== "number") return;
    document.querySelectorAll(".list-count").forEach(function (el) { el.textContent = String(count); });
    document.querySelectorAll(".list-count-wrap").forEach(function (el) { el.hidden = false; });
  }

  async function addToList(form) {
    if (form.dataset.pending) return;
    form.dataset.pending = "true";
    form.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.action, {
        method: "POST", credentials: "same-origin", headers: {Accept: "application/json"},
        body: new URLSearchParams(new FormData(form))});
      if (!response.ok) throw new Error("not added");
      const type = response.headers.get("content-type") || "";
      if (type.indexOf("json") !== -1) showCount((await response.json()).count);
      form.classList.add("added");
      say(listStatus, listStatus ? listStatus.dataset.added : "");
    } catch (error) {
      say(listStatus, listStatus ? listStatus.dataset.failed : "");
    } finally {
      delete form.dataset.pending;
      form.removeAttribute("aria-busy");
    }
  }

  // ---- on load -------------------------------------------------------------------------

  // On a phone the filters start folded behind their button, so the results come first.
  const fold = document.getElementById("filters-fold");
  if (fold && window.matchMedia && window.matchMedia("(max-width: 600px)").matches) fold.open = false;

  history.replaceState({explorer: true}, "", location.href);
  const params = new URLSearchParams(location.search);
  if (params.has("cols")) {
    rememberColumns(location.href);
  } else {
    const known = knownColumns();
    const saved = (storage("get") || "").split(",").filter(function (c) { return known.indexOf(c) !== -1; });
    // Put in the table's order, as the server would.
    const wanted = known.filter(function (c) { return saved.indexOf(c) !== -1; }).join(",");
    if (wanted && wanted !== renderedColumns()) {
      const url = new URL(location.href);
      url.searchParams.set("cols", wanted);
      navigate(url, {history: "replace", focus: null, announce: false});
    }
  }
})();
