/* helpgen page furniture (theme/main.html):
 * - the old-version banner's link goes to this article's permalink in the latest
 *   version, or to that version's home when the article is not there (checked once,
 *   when Material shows the banner after reading versions.json);
 * - an empty search ("No matching documents", Material's or helpgen's results) shows
 *   links to the home page and Submit a ticket under the count;
 * - the search form of a dead end (404 page) and the phone search bar open the search
 *   dialog with their words.
 * Static hosts and `helpgen serve` alike: only same-origin files are read.
 */
(function () {
  "use strict";

  function checkLatest(link) {
    if (!link || link.dataset.checked) { return; }
    link.dataset.checked = "1";
    var home = link.getAttribute("data-helpgen-home");
    if (link.getAttribute("href") === home) { return; }
    fetch(link.href, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) { link.setAttribute("href", home); }
      return r.text();  // read to the end: the request is finished, not cut off
    }).catch(function () { link.setAttribute("href", home); });
  }

  function watchOutdated() {
    var box = document.querySelector("[data-md-component=outdated]");
    if (!box) { return; }
    var link = box.querySelector("a.helpgen-latest");
    if (!box.hidden) { checkLatest(link); return; }
    new MutationObserver(function () {
      if (!box.hidden) { checkLatest(link); }
    }).observe(box, {attributes: true, attributeFilter: ["hidden"]});
  }

  function noResultsText() {
    try {
      var config = JSON.parse(document.getElementById("__config").textContent);
      return (config.translations || {})["search.result.none"] || "No matching documents";
    } catch (e) { return "No matching documents"; }
  }

  function watchEmptySearch() {
    var none = noResultsText();
    var tpl = document.getElementById("helpgen-no-results");
    var result = document.querySelector(".md-search-result");
    var input = document.querySelector("input[data-md-component=search-query]");
    if (!tpl || !result || !input) { return; }
    function update() {
      var list = result.querySelector(".md-search-result__list");
      var meta = result.querySelector(".md-search-result__meta");
      var shown = result.querySelector(".helpgen-deadend--search");
      var empty = list && meta && input.value.trim() !== "" &&
        list.children.length === 0 && meta.textContent.trim().indexOf(none) === 0;
      if (empty && !shown) {
        meta.parentNode.insertBefore(tpl.content.cloneNode(true), meta.nextSibling);
      } else if (!empty && shown) {
        shown.parentNode.removeChild(shown);
      }
    }
    new MutationObserver(update).observe(result, {childList: true, subtree: true,
                                                  characterData: true});
    input.addEventListener("input", update);
  }

  function openSearch(words) {
    var toggle = document.getElementById("__search");
    var input = document.querySelector("input[data-md-component=search-query]");
    if (!toggle || !input) { return false; }
    toggle.checked = true;
    toggle.dispatchEvent(new Event("change"));
    input.value = words;
    input.focus();
    input.dispatchEvent(new Event("input", {bubbles: true}));
    input.dispatchEvent(new KeyboardEvent("keyup", {bubbles: true}));
    return true;
  }

  function wireDeadEndSearch() {
    document.querySelectorAll(".helpgen-deadend__search").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        var q = form.querySelector("input[name=q]");
        if (openSearch(q ? q.value : "")) { e.preventDefault(); }
      });
    });
    // the phone search bar hands over to the dialog as soon as it is used
    document.querySelectorAll(".helpgen-searchbar input").forEach(function (q) {
      function hand() {
        var words = q.value;
        q.value = "";
        q.blur();
        openSearch(words);
      }
      q.addEventListener("focus", hand);
      q.addEventListener("input", hand);
    });
  }

  watchOutdated();
  watchEmptySearch();
  wireDeadEndSearch();
}());
