/* helpgen search box: helpgen's results in Material's search dialog, from the server
 * or, on a plain static host, from the static search bundle.
 *
 * On load the page asks /healthz (same origin). If the helpgen server answers and this
 * page's market/version is published there, typing in Material's search box queries
 * /api/search (debounced; searches are recorded as events). Otherwise, when the build
 * wrote the static search bundle (the page's helpgen-search-bundle meta tag), the first
 * query loads analysis.js and engine.js and answers from <version>/search/bundle/ in
 * the browser, with the server's behaviour (no events are recorded there). Either way
 * the results - typo corrections, synonyms, highlighted snippets, "did you mean" - show
 * in Material's own result list, so the keyboard navigation and styles stay Material's.
 * Without either (a site built with search.static_bundle off, or a page opened from
 * file://, where Chromium fetches nothing) Material's built-in lunr search answers.
 * The result count is announced to screen readers (aria-live).
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 150;
  /* The words this script writes, in the page's language: the page's helpgen-strings
   * JSON (helpgen.catalog, with the project's `strings:` wording). */
  var STRINGS = (function () {
    var el = document.getElementById("helpgen-strings");
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  })();
  var LIMIT = 10;
  var state = {api: false, mode: null, market: null, version: null, seq: 0, last: null,
               timer: null, typed: null, engine: null};
  var BUNDLE = (function () {
    var meta = document.querySelector("meta[name=helpgen-search-bundle]");
    if (!meta || location.protocol === "file:") { return null; }
    var base = new URL(meta.getAttribute("content"), location.href).href;
    return {base: base, root: new URL("../../", base).href,
            scripts: [meta.dataset.analysis, meta.dataset.engine]};
  })();

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var el = document.createElement("script");
      el.src = src;
      el.onload = resolve;
      el.onerror = function () { reject(new Error("cannot load " + src)); };
      document.head.appendChild(el);
    });
  }

  /* The static engine, loaded on first use (its scripts, then the bundle's manifest). */
  function engine() {
    if (!state.engine) {
      state.engine = (window.helpgenEngine ? Promise.resolve() :
        loadScript(BUNDLE.scripts[0]).then(function () { return loadScript(BUNDLE.scripts[1]); })
      ).then(function () { return window.helpgenEngine.open(BUNDLE.base); });
      state.engine.catch(function () { state.engine = null; });
    }
    return state.engine;
  }

  // the page's static engine (tests and the ticket page share it): null without a bundle
  window.helpgenStaticEngine = BUNDLE ? engine : null;

  /* An engine result in the shape GET /api/search answers. */
  function payload(res) {
    return {query: res.query, total: res.total, did_you_mean: res.suggestion,
            corrections: res.corrections,
            results: res.hits.map(function (h) {
              var hit = Object.assign({}, h);
              hit.html_url = new URL(h.path, BUNDLE.root).href;
              return hit;
            })};
  }

  function text(tag, cls, value) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    if (value) { el.textContent = value; }
    return el;
  }

  function parts() {
    var p = location.pathname.split("/").filter(Boolean);
    return p.length >= 2 ? {market: p[0], version: p[1]} : null;
  }

  function elements() {
    return {
      input: document.querySelector("input[data-md-component=search-query]"),
      meta: document.querySelector(".md-search-result__meta"),
      list: document.querySelector(".md-search-result__list")
    };
  }

  function t(key, fallback) {
    var el = document.getElementById("__config");
    try {
      var tr = JSON.parse(el.textContent).translations || {};
      return tr[key] || fallback;
    } catch (e) { return fallback; }
  }

  function countText(n) {
    if (n === 0) { return t("search.result.none", "No matching documents"); }
    if (n === 1) { return t("search.result.one", "1 matching document"); }
    return t("search.result.other", "# matching documents").replace("#", n);
  }

  function render(data) {
    var ui = elements();
    if (!ui.list || !ui.meta) { return; }
    state.last = data;
    ui.list.textContent = "";
    ui.list.dataset.query = data.query;  // which answer is shown (tests wait for it)
    ui.meta.textContent = countText(data.results.length);
    if (data.did_you_mean) {
      ui.meta.appendChild(document.createTextNode(
        " · " + (STRINGS["search.did_you_mean"] || "Did you mean") + " "));
      // only the corrected words are shown ("refnud → refund"), never the whole query
      var words = (data.corrections || []).map(function (c) { return c.to; }).join(" ");
      var fix = text("a", "helpgen-did-you-mean", words || data.did_you_mean);
      fix.title = data.did_you_mean;
      fix.href = "#";
      fix.setAttribute("role", "button");
      // Material closes the search dialog on any link click that reaches document.body
      // (and "#" would navigate): the correction is handled here and goes no further.
      fix.addEventListener("click", function (e) {
        e.preventDefault();
        e.stopPropagation();
        ui.input.value = data.did_you_mean;
        state.typed = data.did_you_mean;
        query(data.did_you_mean);
        ui.input.focus();
      });
      ui.meta.appendChild(fix);
      ui.meta.appendChild(document.createTextNode("?"));
    }
    data.results.forEach(function (hit) {
      var li = text("li", "md-search-result__item");
      var a = text("a", "md-search-result__link");
      a.href = hit.html_url;
      a.tabIndex = -1;
      var article = text("article", "md-search-result__article md-typeset");
      article.dataset.mdScore = String(hit.score);
      article.appendChild(text("div", "md-search-result__icon md-icon"));
      article.appendChild(text("h1", null, hit.title));
      // where the article sits: "Sellers · Orders" (titles in the market's language)
      var place = [hit.audience_title, hit.topic_title].filter(Boolean).join(" · ");
      if (place) {
        var where = text("p", "helpgen-search-place", place);
        where.style.cssText = "margin:.2em 0 0;font-size:.64rem;" +
          "color:var(--md-default-fg-color--light)";
        article.appendChild(where);
      }
      var snippet = text("p", "md-search-result__teaser helpgen-search-snippet");
      snippet.innerHTML = hit.snippet;  // server-escaped text with <mark> only
      article.appendChild(snippet);
      a.appendChild(article);
      li.appendChild(a);
      ui.list.appendChild(li);
    });
  }

  function query(q) {
    var mine = ++state.seq;
    if (!q.trim()) {
      var ui = elements();
      if (ui.list) { ui.list.textContent = ""; }
      if (ui.meta) { ui.meta.textContent = t("search.result.placeholder", "Type to start searching"); }
      state.last = null;
      return;
    }
    var answer;
    if (state.mode === "static") {
      answer = engine().then(function (e) {
        return e.search(q.slice(0, 200), {limit: LIMIT});
      }).then(payload);
    } else {
      var url = "/api/search?q=" + encodeURIComponent(q.slice(0, 200)) + "&market=" +
        encodeURIComponent(state.market) + "&version=" + encodeURIComponent(state.version) +
        "&limit=" + LIMIT;
      answer = fetch(url, {credentials: "same-origin"}).then(function (r) {
        if (!r.ok) { throw new Error("API " + r.status); }
        return r.json();
      });
    }
    answer.then(function (data) {
      if (mine === state.seq) { render(data); }
    }).catch(function () {
      if (mine === state.seq) {
        state.api = false;  // give the box back to Material's search
      }
    });
  }

  function onKey(e) {
    var ui = elements();
    if (!state.api || e.target !== ui.input) { return; }
    if (e.type === "keydown") {
      if (e.key === "Enter") {
        var first = ui.list && ui.list.querySelector("a[href]");
        if (first) { e.preventDefault(); e.stopPropagation(); location.href = first.href; }
      }
      return;
    }
    e.stopPropagation();  // keyup/input: Material's lunr search stays out of it
    if (ui.input.value === state.typed) { return; }  // arrows, Tab, Shift: no new query
    state.typed = ui.input.value;
    clearTimeout(state.timer);
    state.timer = setTimeout(function () { query(ui.input.value); }, DEBOUNCE_MS);
  }

  function guard() {
    /* Material may render its own results (e.g. on focus); put ours back. */
    var ui = elements();
    if (!ui.list || !window.MutationObserver) { return; }
    ui.list.addEventListener("focusin", function (e) {
      var a = e.target.closest && e.target.closest("a[href]");
      state.focusHref = a ? a.getAttribute("href") : null;
    });
    new MutationObserver(function () {
      if (!state.api || !state.last) { return; }
      var ours = ui.list.querySelector(".helpgen-search-snippet") ||
        (state.last.results.length === 0 && !ui.list.firstChild);
      if (ours) { return; }
      var active = document.activeElement;
      var lostFocus = state.focusHref && (!active || active === document.body);
      render(state.last);
      if (lostFocus) {  // keep the keyboard user on the result they were on
        var links = ui.list.querySelectorAll("a[href]");
        for (var i = 0; i < links.length; i++) {
          if (links[i].getAttribute("href") === state.focusHref) { links[i].focus(); break; }
        }
      }
    }).observe(ui.list, {childList: true});
  }

  function start() {
    var here = parts();
    var ui = elements();
    if (!here || !ui.input) { return; }
    if (ui.meta) { ui.meta.setAttribute("aria-live", "polite"); }
    function use(mode) {
      state.mode = mode;
      state.api = true;
      document.documentElement.dataset.helpgenSearch = mode;
      if (ui.input.value) { query(ui.input.value); }
    }
    function noServer() {  // a static host: the bundle if the build wrote one, else lunr
      if (BUNDLE) { use("static"); }
    }
    if (location.protocol === "file:") {
      /* Chromium lets a file:// page fetch no other file: neither the bundle nor
         Material's own index can load, and Material hides its search box. helpgen's
         boxes (home page, phones) go too, and the home page says why. */
      document.documentElement.dataset.helpgenSearch = "file";
      document.querySelectorAll(".helpgen-home-search, .helpgen-searchbar").forEach(function (f) {
        f.hidden = true;
        if (f.classList.contains("helpgen-home-search") && STRINGS["search.needs_http"]) {
          f.parentNode.insertBefore(text("p", "helpgen-needs-http", STRINGS["search.needs_http"]),
                                    f.nextSibling);
        }
      });
      return;
    }
    fetch("/healthz", {credentials: "same-origin"}).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (health) {
      var versions = health && health.markets && health.markets[here.market];
      if (!versions || versions.indexOf(here.version) === -1) { return noServer(); }
      state.market = here.market;
      state.version = here.version;
      use("api");
    }).catch(noServer);
    guard();
  }

  ["keyup", "input", "keydown"].forEach(function (type) {
    window.addEventListener(type, onKey, true);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

/* The market selector lists only the markets that are published: site/markets.json
   (written by every publish) names them; links to the others are hidden, so a reader
   never lands on a market that does not exist on this host. Without the file (an old
   site, a preview) the selector stays as built. */
(function () {
  "use strict";
  var config = document.getElementById("__config");
  if (!config) { return; }
  var base;
  try { base = JSON.parse(config.textContent).base; } catch (e) { return; }
  // pages live in <site>/<market>/<version>/: the site root is two folders above base
  var root = new URL(base.replace(/\/?$/, "/") + "../../", location.href);
  fetch(new URL("markets.json", root), { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      if (!data || !Array.isArray(data.markets)) { return; }
      var live = {};
      data.markets.forEach(function (m) { live[m.code] = m; });
      document.querySelectorAll(".md-select__link[hreflang]").forEach(function (a) {
        var code = new URL(a.href, location.href).pathname.replace(/\/$/, "").split("/").pop();
        if (!live[code]) { a.closest(".md-select__item").hidden = true; return; }
        if (live[code].default) { a.dataset.helpgenMarket = code; }
      });
      keepArticle(live);
    })
    .catch(function () { /* a static host without the file: keep the list */ });

  /* Choosing another market opens the same page there when that market's served
     version has it (its <version>/articles.json lists its pages), else its home; this
     runs before Material's own handler, which needs sitemaps a static host lacks. */
  function keepArticle(live) {
    var here = new URL(base.replace(/\/?$/, "/"), location.href);
    var rel = location.pathname.indexOf(here.pathname) === 0 ?
      decodeURIComponent(location.pathname.slice(here.pathname.length)) : null;
    document.addEventListener("click", function (e) {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) { return; }
      var a = e.target.closest && e.target.closest(".md-select__link[data-helpgen-market]");
      if (!a || rel === null) { return; }
      e.preventDefault();
      e.stopPropagation();
      var version = new URL(a.dataset.helpgenMarket + "/" +
                            live[a.dataset.helpgenMarket].default + "/", root);
      fetch(new URL("articles.json", version), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (list) {
          var has = list && list.pages && Object.prototype.hasOwnProperty.call(list.pages, rel);
          location.href = has ? new URL(encodeURI(rel), version).href : a.href;
        })
        .catch(function () { location.href = a.href; });
    }, true);
  }
})();

/* The home page's search box (helpgen.home) hands what is typed to the header's search
   dialog, so the results (Whoosh under helpgen serve, Material's lunr on a static host)
   and their keyboard navigation are the same as everywhere else. */
(function () {
  "use strict";
  function hand(box) {
    var input = document.querySelector("input[data-md-component=search-query]");
    var toggle = document.querySelector("input[data-md-toggle=search]");
    if (!input || !toggle) { return; }
    if (!toggle.checked) {
      toggle.checked = true;
      toggle.dispatchEvent(new Event("change"));
    }
    input.value = box.value;
    box.value = "";
    input.focus();
    input.dispatchEvent(new Event("input", {bubbles: true}));
    input.dispatchEvent(new KeyboardEvent("keyup", {bubbles: true}));
  }
  function start() {
    document.querySelectorAll(".helpgen-home-search").forEach(function (form) {
      var box = form.querySelector("input");
      form.addEventListener("submit", function (e) { e.preventDefault(); hand(box); });
      box.addEventListener("input", function () { if (box.value.trim()) { hand(box); } });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
