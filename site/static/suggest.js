// Suggestions while typing: fills the search box's <datalist> from /api/suggest.
// Without JavaScript the search works the same, without suggestions.
(function () {
  const input = document.querySelector("input[data-suggest]");
  if (!input || !input.list) return;
  const list = input.list;
  let timer = null;
  let asked = "";
  input.addEventListener("input", function () {
    clearTimeout(timer);
    const text = input.value.trim();
    if (text.length < 2 || text === asked) return;
    timer = setTimeout(async function () {
      asked = text;
      try {
        const response = await fetch(input.dataset.suggest + "?q=" + encodeURIComponent(text));
        if (!response.ok) return;
        const body = await response.json();
        list.replaceChildren(...body.suggestions.map(function (s) {
          const option = document.createElement("option");
          option.value = s.text;  // set as text: never parsed as HTML
          return option;
        }));
      } catch (error) { /* offline or server gone: no suggestions */ }
    }, 150);
  });
})();
