/* helpgen ticket deflection: live suggestions on the "Submit a ticket" page
 * and a "Was this helpful?" vote under every article.
 *
 * Suggestions come from POST /api/suggest when the site is served by `helpgen serve`;
 * on a plain static host (the API answers 404/405 or the request fails) the panel
 * falls back to the JSON written at build time beside the site:
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
 */
(function () {
  "use strict";

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

  /* Site root of this version, relative to the current page ("../" etc.). */
  function base() {
    var b = config().base || ".";
    return b.replace(/\/?$/, "/");
  }

  function randomId() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  var apiState = "unknown";  // "unknown" | "server" | "static"

  function postJSON(path, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin",
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
      if (navigator.sendBeacon &&
          navigator.sendBeacon("/api/events", new Blob([body], {type: "application/json"}))) {
        return;
      }
      fetch("/api/events", {method: "POST", keepalive: true, credentials: "same-origin",
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
                                {credentials: "same-origin"})
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

  function serverSuggest(form, ticket, draftId) {
    return postJSON("/api/suggest", {
      market: form.dataset.market, version: form.dataset.version, subject: ticket.subject,
      category: ticket.category, description: ticket.description, limit: LIMIT,
      draft_id: draftId
    }).then(function (r) {
      if (r.status === 404 || r.status === 405 || r.status === 501) {
        throw new Error("no API");
      }
      if (!r.ok) { throw new Error("API " + r.status); }
      return r.json().then(function (data) { return data.results; });
    });
  }

  /* ----------------------------------------------------------- ticket page */

  function ticketPage(form) {
    var panel = document.getElementById("helpgen-suggestions");
    var list = panel.querySelector(".helpgen-suggestions__list");
    var empty = panel.querySelector(".helpgen-suggestions__empty");
    var still = document.getElementById("helpgen-still-need-help");
    var draftId = randomId();
    var shown = {};
    var lastCount = null;  // suggestions the draft's last state got (null: not asked yet)
    var reported = {};     // draft ids already sent as no_suggestion
    var handoffs = Array.prototype.slice.call(document.querySelectorAll(".helpgen-handoff"));
    handoffs.forEach(function (link) { link.dataset.formUrl = link.getAttribute("href"); });
    var timer = null;
    var seq = 0;

    function ticket() {
      return {
        category: form.elements.category.value,
        subject: form.elements.subject.value.trim(),
        description: form.elements.description.value.trim()
      };
    }

    function event(type, articleId) {
      var t = ticket();
      sendEvent({type: type, market: form.dataset.market, version: form.dataset.version,
                 article_id: articleId || null, draft_id: draftId,
                 category: t.category || null});
    }

    function syncHandoffs() {
      var t = ticket();
      handoffs.forEach(function (link) {
        link.href = handoffUrl(link.dataset.formUrl, link.dataset.subjectParam,
                               link.dataset.descriptionParam, t.subject, t.description);
      });
    }

    /* The draft's last state got nothing: report it once (category, key terms). */
    function reportNoSuggestion() {
      var t = ticket();
      if (lastCount !== 0 || reported[draftId]) { return; }
      reported[draftId] = true;
      beacon({type: "no_suggestion", market: form.dataset.market, version: form.dataset.version,
              draft_id: draftId, category: t.category || null,
              query: keyTerms(t.subject + " " + t.description) || null});
    }

    function render(results) {
      lastCount = results.length;
      list.textContent = "";
      panel.hidden = false;
      empty.hidden = results.length > 0;
      results.forEach(function (s) {
        var li = document.createElement("li");
        li.className = "helpgen-suggestion";
        li.dataset.id = s.id;
        var a = document.createElement("a");
        a.href = s.html_url || (base() + s.url);  /* API: site path; static JSON: relative */
        a.textContent = s.title;
        a.addEventListener("click", function () { event("article_opened", s.id); });
        var p = document.createElement("p");
        p.textContent = s.summary || "";
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
                panel.querySelector(".helpgen-suggestions__title").textContent = T.glad;
                draftId = randomId();
                shown = {};
              } else {
                li.remove();
              }
            });
            actions.appendChild(b);
          });
        li.appendChild(a);
        li.appendChild(p);
        li.appendChild(actions);
        list.appendChild(li);
        if (!shown[s.id]) {
          shown[s.id] = true;
          event("suggestion_shown", s.id);
        }
      });
    }

    function update() {
      var t = ticket();
      var typed = (t.subject + " " + t.description).trim();
      if (typed.length < MIN_CHARS && !t.category) {
        panel.hidden = true;
        lastCount = null;
        return;
      }
      var mine = ++seq;
      var attempt = apiState === "static" ? staticSuggest(t)
        : serverSuggest(form, t, draftId).then(function (r) { apiState = "server"; return r; },
          function () { apiState = "static"; return staticSuggest(t); });
      attempt.then(function (results) {
        if (mine === seq) { render(results || []); }
      }).catch(function () { if (mine === seq) { render([]); } });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(update, DEBOUNCE_MS);
    }

    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    form.addEventListener("input", syncHandoffs);
    form.addEventListener("change", syncHandoffs);
    handoffs.forEach(function (link) {
      link.addEventListener("click", function () { syncHandoffs(); reportNoSuggestion(); });
    });
    window.addEventListener("pagehide", reportNoSuggestion);
    syncHandoffs();
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      event("ticket_submitted_anyway");
      if (handoffs.length === 1 && form.dataset.audiences === "1") {
        /* one audience, one form: hand the draft straight over */
        syncHandoffs();
        reportNoSuggestion();
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

  /* ----------------------------------------------------------- helpful vote */

  function helpfulVote() {
    var article = document.querySelector("article.md-content__inner");
    if (!article || document.getElementById("helpgen-ticket")) { return; }
    var here = location.pathname.replace(/index\.html$/, "");
    getStatic("index.json").then(function (index) {
      var root = new URL(base(), location.href).pathname;
      var match = index.articles.filter(function (a) { return root + a.url === here; })[0];
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
    var form = document.getElementById("helpgen-ticket");
    if (form) { ticketPage(form); }
    helpfulVote();
  }

  /* Material's instant navigation swaps pages without a reload. */
  if (window.document$ && window.document$.subscribe) {
    window.document$.subscribe(start);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
