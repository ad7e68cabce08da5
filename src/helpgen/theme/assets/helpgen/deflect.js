/* helpgen ticket deflection: live suggestions on the "Submit a ticket" page
 * and a "Was this helpful?" vote under every article.
 *
 * Suggestions come from POST /api/suggest when the site is served by `helpgen serve`;
 * on a plain static host (the API answers 404/405 or the request fails) they come from
 * the static search bundle when the build wrote one (the page's helpgen-search-bundle
 * meta tag: suggest.js, a port of the server's deflect.suggest_with, over the engine
 * search.js opens), else from the JSON written at build time beside the site:
 * assets/helpgen/suggest/<category>.json and index.json. Only same-origin requests.
 * Events (suggestion_shown, article_opened, solved, irrelevant, ticket_submitted_anyway,
 * helpful, not_helpful) go to POST /api/events with a random draft id: never the
 * ticket text. A draft whose last state got no suggestion is reported once, as
 * no_suggestion with its category and masked key terms, when it is handed off or the
 * page is left (navigator.sendBeacon on pagehide).
 *
 * Hand-off: each audience with a ticket form (deflection.ticket_forms) has a
 * .helpgen-handoff link whose href is kept filled with the draft (subject and
 * description as the form's prefill parameters, the description cut so the URL stays
 * within MAX_URL characters; never the draft id). helpgen.handoff.prefill_url is the
 * same rule in Python.
 *
 * The same file is the drop-in widget for ticket forms on other sites: the build
 * writes a copy to widget/v1/helpgen-widget.js at the site root with BUILT filled in
 * (helpgen.widget), and that copy binds the same panel to the host form's fields named
 * by its <script data-...> attributes (manual/widget.md), calling the API of
 * data-helpgen-url across origins.
 */
(function () {
  "use strict";

  /* null on the site; in the widget copy, the build's data: {markets: {code: language},
   * default_market, alias, text: {language: {key: text}}} (helpgen.widget.built_data). */
  var BUILT = null;
  var SCRIPT = document.currentScript;

  /* The few words the script writes itself (the page's own words are in the article),
   * in the page's language: deflect.* of the page's helpgen-strings JSON
   * (helpgen.catalog, with the project's `strings:` wording). */
  var T = (function () {
    var el = document.getElementById("helpgen-strings"), out = {};
    try {
      var all = el ? JSON.parse(el.textContent) : {};
      Object.keys(all).forEach(function (k) {
        if (k.indexOf("deflect.") === 0) { out[k.slice(8)] = all[k]; }
      });
    } catch (e) { /* no strings: the buttons stay unlabelled rather than break */ }
    return out;
  })();

  var MIN_CHARS = 3;
  var DEBOUNCE_MS = 300;
  var LIMIT = 3;
  var MAX_URL = 2000;
  var MAX_SUBJECT = 200;
  var MAX_KEY_TERMS = 12;

  function config() {
    var el = document.getElementById("__config");
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  }

  /* The helpgen server the API calls go to: "" (this site) on the site, the widget's
   * data-helpgen-url (another origin) in the widget. */
  var apiBase = "";
  /* Site root of the version the static fallback reads, when not this page's own. */
  var staticRoot = null;

  /* Site root of this version, relative to the current page ("../" etc.). */
  function base() {
    if (staticRoot) { return staticRoot; }
    var b = config().base || ".";
    return b.replace(/\/?$/, "/");
  }

  /* A result's link: the server's html_url (absolute with server.base_url, else a site
   * path of the helpgen server), or the static JSON's URL relative to base(). */
  function resultUrl(s) {
    if (s.html_url) { return new URL(s.html_url, apiBase ? apiBase + "/" : location.href).href; }
    return new URL(base() + s.url, location.href).href;
  }

  /* Cookies only for this site's own API; none across origins. */
  function credentials() { return apiBase ? "omit" : "same-origin"; }

  function randomId() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  var apiState = "unknown";  // "unknown" | "server" | "static"

  function postJSON(path, body) {
    return fetch(apiBase + path, {
      method: "POST", credentials: credentials(),
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)
    });
  }

  function sendEvent(payload) {
    if (apiState === "static") { return; }
    try {
      postJSON("/api/events", payload).catch(function () {});
    } catch (e) { /* analytics never break the page */ }
  }

  /* A draft's key terms for no_suggestion: distinct lower-case words of two or more
   * letters, none holding a digit or an @ (order numbers, e-mail addresses, phone
   * numbers stay on the page); the server masks and trims them again. */
  function keyTerms(text) {
    var seen = [];
    (text.toLowerCase().match(/[^\s]+/g) || []).forEach(function (token) {
      if (seen.length >= MAX_KEY_TERMS || /[\p{N}@]/u.test(token)) { return; }
      (token.match(/[\p{L}\p{M}]{2,}/gu) || []).forEach(function (w) {
        if (seen.length < MAX_KEY_TERMS && seen.indexOf(w) === -1) { seen.push(w); }
      });
    });
    return seen.join(" ");
  }

  function beacon(payload) {
    if (apiState === "static") { return; }
    var body = JSON.stringify(payload);
    try {
      /* a JSON beacon to another origin is not sent (it would need a preflight) */
      if (!apiBase && navigator.sendBeacon &&
          navigator.sendBeacon("/api/events", new Blob([body], {type: "application/json"}))) {
        return;
      }
      fetch(apiBase + "/api/events", {method: "POST", keepalive: true,
                                      credentials: credentials(),
                            headers: {"Content-Type": "application/json"}, body: body})
        .catch(function () {});
    } catch (e) { /* analytics never break the page */ }
  }

  /* The ticket form's URL with the draft as its prefill parameters, at most MAX_URL
   * characters: the description is cut (ending in "…") to fit. */
  function handoffUrl(base, subjectParam, descriptionParam, subject, description) {
    var joiner = base.indexOf("?") === -1 ? "?" : "&";
    var subjectText = Array.from(subject.trim()).slice(0, MAX_SUBJECT).join("");
    function build(desc) {
      var parts = [];
      if (subjectText) { parts.push(subjectParam + "=" + encodeURIComponent(subjectText)); }
      if (desc) { parts.push(descriptionParam + "=" + encodeURIComponent(desc)); }
      return base + (parts.length ? joiner + parts.join("&") : "");
    }
    var chars = Array.from(description.trim());
    var url = build(chars.join(""));
    while (url.length > MAX_URL && chars.length) {
      var keep = Math.max(0, Math.min(chars.length - 1,
        Math.floor(chars.length * MAX_URL / url.length) - 2));
      chars = chars.slice(0, keep);
      url = build(chars.length ? chars.join("").trimEnd() + "\u2026" : "");
    }
    return url;
  }

  var staticCache = {};
  function getStatic(name) {
    if (!staticCache[name]) {
      staticCache[name] = fetch(base() + "assets/helpgen/suggest/" + name,
                                {credentials: credentials()})
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
    }
    return staticCache[name];
  }

  /* ----------------------------------------------------------- static ranking */

  function words(text) {
    return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) || []).filter(function (w) {
      return w.length > 2 || /[\u3040-\u30ff\u3400-\u9fff\u0e00-\u0e7f]/.test(w);
    });
  }

  function overlap(typed, article) {
    var hay = (article.title + " " + article.summary + " " + (article.keywords || []).join(" "))
      .toLowerCase();
    var n = 0;
    typed.forEach(function (w) { if (hay.indexOf(w) !== -1) { n += 1; } });
    return n;
  }

  /* Articles of the chosen category first, then others sharing at least two words. */
  function staticSuggest(ticket) {
    var typed = words(ticket.subject + " " + ticket.description);
    return getStatic("index.json").then(function (index) {
      var scored = index.articles.map(function (a) {
        var inCat = ticket.category && a.categories.indexOf(ticket.category) !== -1;
        var n = overlap(typed, a);
        return {a: a, inCat: inCat, n: n, score: n + (inCat ? 2 : 0)};
      }).filter(function (s) { return (s.inCat && s.n >= 1) || s.n >= 2 || (s.inCat && !typed.length); });
      scored.sort(function (x, y) { return y.score - x.score; });
      return scored.slice(0, LIMIT).map(function (s) {
        return {id: s.a.id, title: s.a.title, url: s.a.url, summary: s.a.summary,
                reason: s.inCat ? T.category : T.words};
      });
    });
  }

  /* ----------------------------------------------------------- static bundle */

  var scripts = {};

  function loadScript(src) {
    if (!scripts[src]) {
      scripts[src] = new Promise(function (resolve, reject) {
        var el = document.createElement("script");
        el.src = src;
        el.onload = resolve;
        el.onerror = function () { reject(new Error("cannot load " + src)); };
        document.head.appendChild(el);
      });
      scripts[src].catch(function () { delete scripts[src]; });
    }
    return scripts[src];
  }

  /* suggest.js: named by the page's bundle meta tag (data-suggest), or in the widget
   * the help center's own copy in the published version (staticRoot). */
  function loadSuggest() {
    if (window.helpgenSuggest) { return Promise.resolve(); }
    var meta = document.querySelector("meta[name=helpgen-search-bundle]");
    var src = meta && !apiBase ? meta.dataset.suggest
      : staticRoot ? staticRoot + "assets/helpgen/suggest.js" : null;
    return src ? loadScript(src) : Promise.reject(new Error("no suggest.js"));
  }

  /* The engine over the bundle: the page's own (search.js), or in the widget the one of
   * the help center's published version, its scripts and files read from there (the
   * help center's host must allow this origin, as for its static JSON: CORS). */
  var widgetEngine = null;
  function staticEngine() {
    if (!apiBase) { return window.helpgenStaticEngine(); }
    if (!widgetEngine) {
      var root = staticRoot;
      widgetEngine = (window.helpgenEngine ? Promise.resolve() :
        loadScript(root + "assets/helpgen/analysis.js").then(function () {
          return loadScript(root + "assets/helpgen/engine.js");
        })).then(function () {
          return window.helpgenEngine.open(root + "search/bundle/", function (url) {
            return fetch(url, {credentials: "omit"}).then(function (r) {
              if (!r.ok) { throw new Error("search bundle: " + r.status + " for " + url); }
              return r.json();
            });
          });
        });
      widgetEngine.catch(function () { widgetEngine = null; });
    }
    return widgetEngine;
  }

  /* Whether suggestions can come from a static search bundle: the page has one
   * (search.js sets helpgenStaticEngine), or the widget found the help center's
   * published version on a static host (its bundle is tried, the static JSON kept as
   * the fallback when it has none). */
  function hasBundle() {
    return apiBase ? !!staticRoot : typeof window.helpgenStaticEngine === "function";
  }

  /* The server's suggestions, computed in the browser from the bundle (suggest.js);
   * links go to the article in the version the bundle belongs to. */
  function bundleSuggest(where, ticket) {
    return Promise.all([staticEngine(), loadSuggest()]).then(function (got) {
      var engine = got[0];
      var root = new URL("../../", new URL(engine.base, location.href)).href;
      var draft = {subject: ticket.subject, category: ticket.category,
                   description: ticket.description, audience: where.audience || ""};
      return window.helpgenSuggest.suggest(engine, draft, {limit: LIMIT}).then(function (out) {
        return out.results.map(function (s) {
          s.html_url = new URL(s.path, root).href;
          return s;
        });
      });
    });
  }

  /* Suggestions without a server: the bundle's, else (no bundle, or it cannot be read)
   * the per-category JSON. */
  function localSuggest(where, ticket) {
    if (!hasBundle()) { return staticSuggest(ticket); }
    return bundleSuggest(where, ticket).catch(function (err) {
      if (window.console) { console.warn("helpgen: static suggestions failed", err); }
      return staticSuggest(ticket);
    });
  }

  function serverSuggest(where, ticket, draftId) {
    var body = {
      market: where.market, version: where.version, subject: ticket.subject,
      category: ticket.category, description: ticket.description, limit: LIMIT,
      draft_id: draftId
    };
    if (where.audience) { body.audience = where.audience; }
    return postJSON("/api/suggest", body).then(function (r) {
      if (r.status === 404 || r.status === 405 || r.status === 501) {
        throw new Error("no API");
      }
      if (!r.ok) { throw new Error("API " + r.status); }
      return r.json().then(function (data) { return data.results; });
    });
  }

  /* ----------------------------------------------------------- the panel */

  /* Live suggestions for one draft, shown in ``ui`` ({panel, list, empty, title}).
   * ``where``: {market, version, audience}; ``read()``: the draft ({category, subject,
   * description}). The ticket page and the widget differ only in where the draft and
   * the panel are. Returns {schedule, event, reportNoSuggestion}. */
  function deflector(where, ui, read) {
    var draftId = randomId();
    var shown = {};
    var lastCount = null;  // suggestions the draft's last state got (null: not asked yet)
    var reported = {};     // draft ids already sent as no_suggestion
    var timer = null;
    var seq = 0;
    var renderedIds = null;  // the ids now in the list, in order

    function event(type, articleId) {
      var t = read();
      sendEvent({type: type, market: where.market, version: where.version,
                 article_id: articleId || null, draft_id: draftId,
                 category: t.category || null});
    }

    /* The draft's last state got nothing: report it once (category, key terms). */
    function reportNoSuggestion() {
      var t = read();
      if (lastCount !== 0 || reported[draftId]) { return; }
      reported[draftId] = true;
      beacon({type: "no_suggestion", market: where.market, version: where.version,
              draft_id: draftId, category: t.category || null,
              query: keyTerms(t.subject + " " + t.description) || null});
    }

    /* Which suggestion's control has the keyboard focus: {id, className}, or null. */
    function focusedControl() {
      var active = document.activeElement;
      if (!active || !ui.list.contains(active)) { return null; }
      var li = active.closest(".helpgen-suggestion");
      return li ? {id: li.dataset.id, className: active.className} : null;
    }

    function restoreFocus(was) {
      if (!was) { return; }
      Array.prototype.some.call(ui.list.querySelectorAll(".helpgen-suggestion"), function (li) {
        if (li.dataset.id !== was.id) { return false; }
        var same = Array.prototype.filter.call(li.querySelectorAll("a, button"), function (el) {
          return el.className === was.className;
        })[0];
        if (same) { same.focus({preventScroll: true}); }
        return true;
      });
    }

    /* Answers keep arriving while someone types; the same suggestions leave the list as it
       is, and new ones keep the focus on the same article's control, so a keyboard user
       tabbing through the suggestions is not thrown back to the top of the page. */
    function render(results) {
      lastCount = results.length;
      ui.panel.hidden = false;
      ui.empty.hidden = results.length > 0;
      var ids = results.map(function (s) { return s.id; }).join("\n");
      if (ids === renderedIds) { return; }
      renderedIds = ids;
      var was = focusedControl();
      ui.list.textContent = "";
      results.forEach(function (s) {
        var li = document.createElement("li");
        li.className = "helpgen-suggestion";
        li.dataset.id = s.id;
        var a = document.createElement("a");
        a.href = resultUrl(s);
        a.textContent = s.title;
        if (apiBase) { a.target = "_blank"; a.rel = "noopener"; }  // keep the host's draft
        a.addEventListener("click", function () { event("article_opened", s.id); });
        var p = document.createElement("p");
        p.textContent = s.summary || (s.snippet || "").replace(/<[^>]*>/g, "");  // <mark>
        var actions = document.createElement("span");
        actions.className = "helpgen-suggestion__actions";
        [["solved", T.solved], ["irrelevant", T.irrelevant]]
          .forEach(function (pair) {
            var b = document.createElement("button");
            b.type = "button";
            b.className = "md-button helpgen-" + pair[0];
            b.textContent = pair[1];
            b.addEventListener("click", function () {
              event(pair[0], s.id);
              if (pair[0] === "solved") {
                ui.title.textContent = T.glad;
                draftId = randomId();
                shown = {};
                renderedIds = null;  // a new draft: its suggestions count as shown again
              } else {
                li.remove();
              }
            });
            actions.appendChild(b);
          });
        li.appendChild(a);
        li.appendChild(p);
        li.appendChild(actions);
        ui.list.appendChild(li);
        if (!shown[s.id]) {
          shown[s.id] = true;
          event("suggestion_shown", s.id);
        }
      });
      restoreFocus(was);
    }

    function update() {
      var t = read();
      var typed = (t.subject + " " + t.description).trim();
      if (typed.length < MIN_CHARS && !t.category) {
        ui.panel.hidden = true;
        lastCount = null;
        return;
      }
      var mine = ++seq;
      var attempt = apiState === "static" ? localSuggest(where, t)
        : serverSuggest(where, t, draftId).then(function (r) { apiState = "server"; return r; },
          function (err) {
            if (apiBase) { throw err; }  // the widget asked the server first: it answers
            apiState = "static";
            return localSuggest(where, t);
          });
      attempt.then(function (results) {
        if (mine === seq) { render(results || []); }
      }).catch(function () {
        /* the widget keeps what it showed: a refused request (429, 503) is not "nothing" */
        if (mine === seq && !apiBase) { render([]); }
      });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(update, DEBOUNCE_MS);
    }

    window.addEventListener("pagehide", reportNoSuggestion);
    return {schedule: schedule, event: event, reportNoSuggestion: reportNoSuggestion};
  }

  /* ----------------------------------------------------------- ticket page */

  function ticketPage(form) {
    var panel = document.getElementById("helpgen-suggestions");
    var ui = {panel: panel, list: panel.querySelector(".helpgen-suggestions__list"),
              empty: panel.querySelector(".helpgen-suggestions__empty"),
              title: panel.querySelector(".helpgen-suggestions__title")};
    var still = document.getElementById("helpgen-still-need-help");
    var handoffs = Array.prototype.slice.call(document.querySelectorAll(".helpgen-handoff"));
    handoffs.forEach(function (link) { link.dataset.formUrl = link.getAttribute("href"); });

    function ticket() {
      return {
        category: form.elements.category.value,
        subject: form.elements.subject.value.trim(),
        description: form.elements.description.value.trim()
      };
    }

    var panelOf = deflector({market: form.dataset.market, version: form.dataset.version},
                            ui, ticket);

    function syncHandoffs() {
      var t = ticket();
      handoffs.forEach(function (link) {
        link.href = handoffUrl(link.dataset.formUrl, link.dataset.subjectParam,
                               link.dataset.descriptionParam, t.subject, t.description);
      });
    }

    form.addEventListener("input", panelOf.schedule);
    form.addEventListener("change", panelOf.schedule);
    form.addEventListener("input", syncHandoffs);
    form.addEventListener("change", syncHandoffs);
    handoffs.forEach(function (link) {
      link.addEventListener("click", function () {
        syncHandoffs();
        panelOf.reportNoSuggestion();
      });
    });
    syncHandoffs();
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      panelOf.event("ticket_submitted_anyway");
      if (handoffs.length === 1 && form.dataset.audiences === "1") {
        /* one audience, one form: hand the draft straight over */
        syncHandoffs();
        panelOf.reportNoSuggestion();
        location.assign(handoffs[0].href);
        return;
      }
      if (handoffs.length) { handoffs[0].focus({preventScroll: true}); }
      if (still) {
        still.classList.add("helpgen-still--open");
        still.scrollIntoView({behavior: "smooth", block: "start"});
      }
    });
  }

  /* ----------------------------------------------------------- widget */

  var WIDGET = "helpgen widget: ";

  /* The widget's panel: an always-present polite live region (so screen readers hear
   * its updates) holding the same section the ticket page has, placed in data-target,
   * else right after the description field (the next stop of Tab), else after the
   * script element. */
  function widgetUi(opts, description) {
    var region = document.createElement("div");
    region.className = "helpgen-widget";
    region.setAttribute("aria-live", "polite");
    var panel = document.createElement("section");
    panel.className = "helpgen-suggestions";
    panel.setAttribute("aria-label", T.title);
    panel.hidden = true;
    var title = document.createElement("p");
    title.className = "helpgen-suggestions__title";
    title.textContent = T.title;
    var list = document.createElement("ol");
    list.className = "helpgen-suggestions__list";
    var empty = document.createElement("p");
    empty.className = "helpgen-suggestions__empty";
    empty.textContent = T.empty;
    empty.hidden = true;
    panel.appendChild(title);
    panel.appendChild(list);
    panel.appendChild(empty);
    region.appendChild(panel);
    var target = opts.target ? document.querySelector(opts.target) : null;
    if (target) {
      target.appendChild(region);
    } else if (description) {
      description.insertAdjacentElement("afterend", region);
    } else {
      SCRIPT.insertAdjacentElement("afterend", region);
    }
    return {panel: panel, list: list, empty: empty, title: title};
  }

  /* Can this page call the server? "server" (its API answers), "static" (a static host
   * that allows this origin), or null after one console message saying why not. */
  function probe() {
    var health = apiBase + "/healthz";
    return fetch(health, {method: "HEAD", credentials: "omit"}).then(function (r) {
      return r.ok ? "server" : "static";
    }, function () {
      /* an opaque request reaches a server that refuses this origin's readable ones */
      return fetch(health, {method: "HEAD", mode: "no-cors", credentials: "omit"})
        .then(function () {
          console.error(WIDGET + "origin " + location.origin + " is not in " +
                        "server.cors_origins of " + apiBase + "; add it there (a static " +
                        "host must send Access-Control-Allow-Origin) to show suggestions " +
                        "on this page");
          return null;
        }, function () {
          console.error(WIDGET + "cannot reach " + apiBase + ": is it up, and does this " +
                        "page's Content-Security-Policy allow it in connect-src?");
          return null;
        });
    });
  }

  function widget(script) {
    var d = script.dataset;
    var here = new URL(script.src, location.href);
    apiBase = (d.helpgenUrl || here.href.replace(/\/widget\/v\d+\/[^\/]*$/, ""))
      .replace(/\/+$/, "");
    var market = d.market || BUILT.default_market;
    if (!BUILT.markets[market]) {
      console.error(WIDGET + "data-market \"" + market + "\" is not a market of " + apiBase +
                    "; use one of: " + Object.keys(BUILT.markets).join(", "));
      return;
    }
    if (!d.subject && !d.description) {
      console.error(WIDGET + "set data-subject and/or data-description to CSS selectors " +
                    "of the form's fields");
      return;
    }
    T = BUILT.text[BUILT.markets[market]] || BUILT.text.en;
    var version = d.version || BUILT.alias;
    var selectors = [d.subject, d.description, d.category].filter(Boolean);

    function field(selector) {
      var el = selector ? document.querySelector(selector) : null;
      return el && typeof el.value === "string" ? el.value.trim() : "";
    }
    function ticket() {
      return {category: field(d.category), subject: field(d.subject),
              description: field(d.description)};
    }
    function ours(el) {
      return el && el.matches && selectors.some(function (s) { return el.matches(s); });
    }

    probe().then(function (state) {
      if (state !== "static") { return state; }
      /* a static host: the static JSON of the version the alias names (versions.json) */
      return fetch(apiBase + "/" + market + "/versions.json", {credentials: "omit"})
        .then(function (r) { return r.json(); }).then(function (versions) {
          var hit = versions.filter(function (v) {
            return v.version === version || (v.aliases || []).indexOf(version) !== -1;
          })[0];
          if (!hit) { throw new Error("no version"); }
          staticRoot = apiBase + "/" + market + "/" + hit.version + "/";
          return state;
        }).catch(function () {
          console.error(WIDGET + apiBase + " has no API and no published version " + version +
                        " of market " + market);
          return null;
        });
    }).then(function (state) {
      if (!state) { return; }
      apiState = state;
      var ui = widgetUi(d, document.querySelector(d.description || d.subject));
      var panelOf = deflector({market: market, version: version, audience: d.audience || null},
                              ui, ticket);
      /* on the document: host forms often render their fields after this script */
      ["input", "change"].forEach(function (type) {
        document.addEventListener(type, function (e) {
          if (ours(e.target)) { panelOf.schedule(); }
        }, true);
      });
      document.addEventListener("submit", function (e) {
        var form = e.target;
        var first = document.querySelector(d.subject || d.description);
        if (first && form.contains && form.contains(first)) { panelOf.reportNoSuggestion(); }
      }, true);
      if ((ticket().subject + ticket().description).length >= MIN_CHARS) { panelOf.schedule(); }
    });
  }

  /* ----------------------------------------------------------- helpful vote */

  function helpfulVote() {
    var article = document.querySelector("article.md-content__inner");
    if (!article || document.getElementById("helpgen-ticket")) { return; }
    var here = location.pathname.replace(/index\.html$/, "");
    /* the page names its article (main.html); older pages: look it up in index.json */
    var meta = document.querySelector("meta[name=helpgen-article]");
    var known = meta ? Promise.resolve({market: meta.dataset.market, version: meta.dataset.version,
                                        articles: [{id: meta.getAttribute("content"), here: true}]})
      : getStatic("index.json");
    known.then(function (index) {
      var root = new URL(base(), location.href).pathname;
      var match = index.articles.filter(function (a) {
        return a.here || root + a.url === here;
      })[0];
      if (!match) { return; }
      var box = document.createElement("div");
      box.className = "helpgen-helpful";
      var label = document.createElement("span");
      label.textContent = T.helpful;
      box.appendChild(label);
      [["helpful", T.yes], ["not_helpful", T.no]].forEach(function (pair) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "md-button helpgen-" + pair[0];
        b.textContent = pair[1];
        b.addEventListener("click", function () {
          sendEvent({type: pair[0], market: index.market, version: index.version,
                     article_id: match.id});
          box.textContent = T.thanks;
        });
        box.appendChild(b);
      });
      article.appendChild(box);
    }).catch(function () {});
  }

  function start() {
    if (BUILT) {
      if (SCRIPT) { widget(SCRIPT); }
      return;
    }
    var form = document.getElementById("helpgen-ticket");
    if (form) { ticketPage(form); }
    helpfulVote();
  }

  /* Material's instant navigation swaps pages without a reload (the widget binds once,
   * whatever page it is on). */
  if (!BUILT && window.document$ && window.document$.subscribe) {
    window.document$.subscribe(start);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
