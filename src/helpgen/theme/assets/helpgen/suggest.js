/* helpgen ticket deflection in the browser: the articles that answer a ticket draft,
 * from the static search bundle, by the steps of helpgen.deflect.suggest_with (the
 * server's POST /api/suggest), so a site on a plain static host suggests what
 * `helpgen serve` suggests. Needs analysis.js and engine.js (an open engine).
 *
 *   helpgenSuggest.suggest(engine, {subject, category, title, description, audience},
 *                          {limit: 3})
 *     -> Promise of {results: [...], market, version, resolved_version,
 *                    draft_confidence, min_confidence[, category_ignored]}
 *
 * Each result is the record POST /api/suggest answers (Suggestion.as_dict: id, title,
 * url, source, score, snippet, summary, audience, topic, language, confidence, reason,
 * category_match) plus html_url (the site path, as the server gives it without
 * server.base_url) and path (the article's address relative to the version's root).
 *
 * Where it differs from the server on purpose:
 *
 * * Rarity of a word no article uses and no word list has (deflect._rarity): the server
 *   reads it as a typing slip of pyspellchecker's correction(), the most frequent listed
 *   word one edit away. Those edits span every word file of the language (the files are
 *   split by a word's first two letters: a different first or second letter is another
 *   file for each letter of the alphabet), so here only the listed words in the file of
 *   the word itself (already fetched to look it up) and in those of one of its first two
 *   letters left out or swapped (``fone`` -> ``one``, ``hmac`` -> ``mac``) are tried: at
 *   most three more files per such word and language. A first or second letter typed
 *   wrong or left out of the word (``etsy`` -> ``easy``, ``arives`` -> ``drives``)
 *   finds no fix here, so the word counts as rare (1.0) or as rare as a worse fix.
 * * deflection.max_field_chars, deflection.category_map, deflection.min_confidence and
 *   the categories' English titles come from the manifest's ``deflection`` record (the
 *   build writes what POST /api/suggest reads from helpgen.yml).
 */
(function (root) {
  "use strict";

  /* deflect.py's constants and the deflection.* settings come with the bundle
   * (manifest "deflection", bundle.deflection_record), as engine.js's come from
   * search.py: MAX_LIMIT, MAX_HEAD_WORDS, ... */
  function K(engine) { return engine.m.deflection.constants; }

  var FEATURES = ["position", "head_rank", "head_share", "head_margin", "text_rank",
                  "text_share", "text_margin", "both_top3", "coverage", "head_coverage",
                  "title_match", "category_match", "category_other", "unknown_share",
                  "head_unknown", "head_words", "head_rare"];

  /* deflect.py's patterns. Python's \w is letters and numbers (no marks): engine.js's
   * WORDCH; \d is Nd. */
  var WORD_G = /[\p{L}\p{N}]+/gu;
  var WORD_TEST = /[\p{L}\p{N}]/u;
  var CJK = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff" +
            "\uac00-\ud7af\uff66-\uff9f";
  var CJK_START = new RegExp("^[" + CJK + "]");
  var CJK_TEST = new RegExp("[" + CJK + "]");
  var JA = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f";
  var JA_TEST = new RegExp("[" + JA + "]");
  var JA_CONTENT_G = new RegExp(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005]{2,}" +
    "|[\u30a0-\u30ff\uff66-\uff9f]{2,}" +
    "|(?:(?![\\p{Nd}" + JA + "])[\\p{L}\\p{N}]){2,}", "gu");
  // str.isdigit(): decimal digits and the other digits (superscripts, circled ...)
  var DIGITS = /^[\p{Nd}\u00b2\u00b3\u00b9\u2070\u2074-\u2079\u2080-\u2089\u2460-\u2468\u2474-\u247c\u2488-\u2490\u24f5-\u24fd\u24ea\u24ff\u2776-\u277e\u2780-\u2788\u278a-\u2792\u1369-\u1371\u19da\ud835\udfce-\ud835\udfff]+$/u;

  function A() { return root.helpgenAnalysis; }
  function chars(s) { return Array.from(s); }
  function clen(s) { return chars(s).length; }
  function head5(s) { return chars(s).slice(0, 5).join(""); }

  /* Python's repr() of a str, for the reason text (plain words need nothing more). */
  function repr(s) {
    if (s.indexOf("'") !== -1 && s.indexOf('"') === -1) { return '"' + s + '"'; }
    return "'" + s.replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
  }

  function sigmoid(z) {
    if (z >= 0) { return 1.0 / (1.0 + Math.exp(-z)); }
    var e = Math.exp(z);
    return e / (1.0 + e);
  }

  /* The manifest's model (deflect_model.Model.as_dict()): per-candidate probability and
   * the gate's probability for the draft. */
  function Model(d) {
    this.coefficients = FEATURES.map(function (n) { return d.coefficients[n]; });
    this.intercept = d.intercept;
    this.threshold = d.threshold;
    this.noWordListRarity = d.no_word_list_rarity === undefined ? 1.0 : d.no_word_list_rarity;
    this.gate = null;
    if (d.gate) {
      var g = d.gate;
      this.gate = {index: g.features.map(function (n) { return FEATURES.indexOf(n); }),
                   coefficients: g.features.map(function (n) { return g.coefficients[n]; }),
                   intercept: g.intercept};
    }
  }
  Model.prototype.probability = function (x) {
    var z = this.intercept;
    for (var i = 0; i < this.coefficients.length; i++) { z += this.coefficients[i] * x[i]; }
    return sigmoid(z);
  };
  Model.prototype.draftProbability = function (rows) {
    if (!rows.length) { return 0.0; }
    if (this.gate) {
      var g = this.gate, z = g.intercept;
      for (var i = 0; i < g.index.length; i++) { z += g.coefficients[i] * rows[0][g.index[i]]; }
      return sigmoid(z);
    }
    var self = this;
    return Math.max.apply(null, rows.map(function (r) { return self.probability(r); }));
  };

  /* ------------------------------------------------------------ the ticket */

  /* deflect.fold: accents dropped, case folded, other characters one space. */
  function fold(text) {
    var bare = text.normalize("NFKD").replace(/\p{M}/gu, "");
    return (bare.normalize("NFKC").toLowerCase().match(WORD_G) || []).join(" ");
  }

  /* deflect.resolve_category over the bundle's categories: [code, ""] or ["", raw]. */
  function resolveCategory(raw, engine) {
    if (!raw) { return ["", ""]; }
    var settings = engine.m.deflection || {};
    var titles = settings.categories || engine.m.category_titles || {}, codes = Object.keys(titles);
    if (codes.indexOf(raw) !== -1) { return [raw, ""]; }
    var key = fold(raw), map = settings.category_map || {};
    if (key) {
      var names = Object.keys(map);
      for (var n = 0; n < names.length; n++) {
        if (fold(names[n]) === key && codes.indexOf(map[names[n]]) !== -1) { return [map[names[n]], ""]; }
      }
      for (var i = 0; i < codes.length; i++) {
        if (key === fold(codes[i]) || key === fold(String(titles[codes[i]] || codes[i]))) {
          return [codes[i], ""];
        }
      }
    }
    return ["", raw];
  }

  /* deflect.Ticket.from_mapping's cleaning (a description of at most MAX_FIELD_CHARS,
   * the other fields a tenth of it). */
  function ticketOf(data, engine) {
    var t = {};
    ["subject", "category", "title", "description", "audience"].forEach(function (name) {
      var v = data[name];
      if (typeof v !== "string") { v = ""; }
      var max = engine.m.deflection.max_field_chars;
      var limit = name === "description" ? max : Math.max(Math.floor(max / 10), 20);
      t[name] = A().clean(v, limit);
    });
    t.category_ignored = "";
    if (t.category) {
      var r = resolveCategory(t.category, engine);
      t.category = r[0];
      t.category_ignored = r[1];
    }
    if (t.audience && (engine.m.audiences || []).indexOf(t.audience) === -1) {
      t.audience = "";  // the server refuses it; the page never sends one it lacks
    }
    t.head = [t.subject, t.title].filter(Boolean).join(" ");
    t.empty = !(t.head || t.description);
    return t;
  }

  function hasWords(text) { return WORD_TEST.test(text || ""); }

  /* deflect._words: distinct words not in ``seen``, Japanese/Chinese runs cut into
   * their kanji and katakana stretches. */
  function wordsOf(text, limit, seen) {
    var out = [], runs = text.toLowerCase().match(WORD_G) || [];
    for (var i = 0; i < runs.length; i++) {
      var run = runs[i];
      var parts = JA_TEST.test(run) ? (run.match(JA_CONTENT_G) || []) : [run];
      for (var j = 0; j < parts.length; j++) {
        var w = parts[j];
        if (seen.has(w) || DIGITS.test(w) || (clen(w) < 2 && !CJK_START.test(w))) { continue; }
        seen.add(w);
        out.push(w);
        if (out.length >= limit) { return out; }
      }
    }
    return out;
  }

  /* deflect.is_slip: the same letters, or one left out or added. */
  function isSlip(typed, known) {
    var count = {};
    chars(typed).forEach(function (c) { count[c] = (count[c] || 0) + 1; });
    chars(known).forEach(function (c) { count[c] = (count[c] || 0) - 1; });
    var diff = 0;
    Object.keys(count).forEach(function (c) { diff += Math.abs(count[c]); });
    return diff <= 1;
  }

  /* -------------------------------------------------------------- categories */

  /* Searcher._word_stems */
  function wordStems(engine, word) {
    var out = new Set();
    engine.languages.forEach(function (lang) {
      engine.analyze(lang, word).forEach(function (t) { out.add(t); });
    });
    return out;
  }

  /* Searcher._category_title_keys: code -> [lower-case title, stems of its words]. */
  function categoryTitleKeys(engine) {
    if (!engine._helpgenCategoryKeys) {
      var titles = engine.m.category_titles || {}, keys = {};
      Object.keys(titles).forEach(function (code) {
        var title = String(titles[code]).toLowerCase(), stems = new Set();
        A().tokens(title).forEach(function (m) {
          if (!m.cjk) { wordStems(engine, m.text).forEach(function (s) { stems.add(s); }); }
        });
        keys[code] = [title, stems];
      });
      engine._helpgenCategoryKeys = keys;
    }
    return engine._helpgenCategoryKeys;
  }

  /* Searcher._names */
  function names(engine, word, mine, title, stems) {
    if (A().isCjkRun(word)) { return title.indexOf(word) !== -1; }
    var m, s;
    for (m of mine) { if (stems.has(m)) { return true; } }
    if (engine.languages.indexOf("de") === -1) { return false; }
    var MIN = engine.c.MIN_PART;
    for (m of mine) {
      var lm = clen(m);
      if (lm < MIN) { continue; }
      for (s of stems) {
        if (clen(s) >= lm + MIN && (s.startsWith(m) || s.endsWith(m))) { return true; }
      }
    }
    return false;
  }

  /* Searcher.category_matches: {word: [ids among ``ids`` declaring a category whose
   * title names it, how many articles declare one]}. */
  async function categoryMatches(engine, words, ids, audience) {
    var out = {}, keys = categoryTitleKeys(engine), codes = Object.keys(keys), named = {};
    var any = false;
    if (codes.length) {
      words.forEach(function (w) {
        var mine = wordStems(engine, w);
        var hit = codes.filter(function (c) { return names(engine, w, mine, keys[c][0], keys[c][1]); });
        if (hit.length) { named[w] = hit; any = true; }
      });
    }
    if (!any) { return out; }
    var docs = await engine.docs(), sc = await engine.scope(docs, ids, audience);
    var declaring = {};
    Object.keys(named).forEach(function (w) {
      named[w].forEach(function (code) {
        if (declaring[code]) { return; }
        var c = engine.m.categories.indexOf(code), set = new Set();
        if (c !== -1) {
          for (var d = 0; d < docs.cats.length; d++) {
            if (docs.cats[d].indexOf(c) !== -1 && (!sc[1] || sc[1](d))) { set.add(d); }
          }
        }
        declaring[code] = set;
      });
    });
    Object.keys(named).forEach(function (w) {
      var all = new Set();
      named[w].forEach(function (code) { declaring[code].forEach(function (d) { all.add(d); }); });
      var mine = [];
      sc[0].forEach(function (id, d) { if (all.has(d)) { mine.push(id); } });
      out[w] = [mine, all.size];
    });
    return out;
  }

  /* The ids of the articles declaring ``category`` (category_hits without its texts). */
  async function inCategory(engine, category, audience) {
    var docs = await engine.docs(), ids = await engine.ids(), out = new Set();
    var filt = engine.filter(docs, {audience: audience, categories: [category]});
    for (var d = 0; d < ids.length; d++) { if (filt(d)) { out.add(ids[d]); } }
    return out;
  }

  /* ------------------------------------------------------------------ rarity */

  /* The word files of ``lang`` (the bundle splits a word list by a word's first two
   * letters) that hold the words one edit away from ``word`` which this port tries:
   * its own file, and those of the words with one of its first two letters left out
   * or swapped with the next one. */
  async function slipFiles(engine, lang, word) {
    if (!engine.m.files.dict[lang]) { return []; }
    var w = chars(word), keys = [];
    [w.slice(0, 2), w.slice(1, 3), [w[0], w[2]], [w[1], w[0]]].forEach(function (k) {
      var key = k.join("");
      if (clen(key) === 2 && keys.indexOf(key) === -1) { keys.push(key); }
    });
    var files = await Promise.all(keys.map(function (k) { return engine.dictionaryFile(lang, k); }));
    return files.filter(Boolean);
  }

  function bare(s) { return s.normalize("NFKD").replace(/\p{M}/gu, ""); }

  /* Whether code point arrays ``a`` and ``b`` are one edit (deletion, insertion,
   * substitution, neighbours swapped) apart: pyspellchecker's edit_distance_1. */
  function oneEdit(a, b) {
    var la = a.length, lb = b.length;
    if (Math.abs(la - lb) > 1) { return false; }
    function same(i, j) {  // a[i:] == b[j:]
      if (la - i !== lb - j) { return false; }
      for (; i < la; i++, j++) { if (a[i] !== b[j]) { return false; } }
      return true;
    }
    var i = 0;
    while (i < la && i < lb && a[i] === b[i]) { i++; }
    if (i === la && i === lb) { return false; }  // the same word
    if (la === lb) {
      return same(i + 1, i + 1) || (i + 1 < la && a[i] === b[i + 1] && a[i + 1] === b[i] &&
                                    same(i + 2, i + 2));
    }
    return la > lb ? same(i + 1, i) : same(i, i + 1);
  }

  /* deflect._rarity: 0 (as common as "forgot") to 1 (in no word list). A word in no
   * list is as rare as its slip fix, looked for among the listed words sharing its
   * first two letters (see the file comment); one in a script no word list covers
   * weighs the model's no_word_list_rarity. Cached per engine. */
  function rarityOf(engine, noWordList) {
    if (engine._helpgenRarity) { return engine._helpgenRarity; }
    var langs = Object.keys(engine.m.files.dict || {}), cache = new Map();

    async function share(word) {
      var best = 0.0;
      for (var i = 0; i < langs.length; i++) {
        var n = await engine.dictionaryCount(langs[i], word);
        if (n) { best = Math.max(best, n / engine.m.files.dict[langs[i]].total); }
      }
      return best;
    }

    async function correction(lang, word) {  // pyspellchecker's, within the one file
      var files = await slipFiles(engine, lang, word);
      var w = chars(word), plain = bare(word), best = null, bestN = -1, accents = false;
      files.forEach(function (words) {
        for (var cand in words) {
          if (!Object.prototype.hasOwnProperty.call(words, cand) || !oneEdit(w, chars(cand))) { continue; }
          var same = bare(cand) === plain, n = words[cand];
          if (same && !accents) { accents = true; best = null; bestN = -1; }
          if (accents && !same) { continue; }
          if (n > bestN) { best = cand; bestN = n; }
        }
      });
      return best;
    }

    async function rarity(word) {
      if (CJK_TEST.test(word)) { return noWordList; }
      var best = await share(word);
      if (!best && clen(word) >= K(engine).MIN_SLIP_CHARS) {
        for (var i = 0; i < langs.length; i++) {
          var fix = await correction(langs[i], word);
          if (fix && fix !== word) { best = Math.max(best, await share(fix)); }
        }
      }
      if (!best) { return 1.0; }
      var k = K(engine);
      return Math.min(1.0, Math.max(0.0, (-Math.log10(best) - k.RARITY_COMMON) / k.RARITY_SPAN));
    }

    engine._helpgenRarity = function (word) {
      if (!cache.has(word)) { cache.set(word, rarity(word)); }
      return cache.get(word);
    };
    return engine._helpgenRarity;
  }

  /* ------------------------------------------------------------------ features */

  function score(h) { return h.rawScore !== undefined ? h.rawScore : h.score; }

  /* deflect._rank_features */
  function rankFeatures(hits, i) {
    if (i === undefined || i === null || !hits.length) { return [0.0, 0.0, 0.0]; }
    var best = score(hits[0]) || 1.0;
    var following = i + 1 < hits.length ? score(hits[i + 1]) : 0.0;
    return [score(hits[i]) / best, 1.0 / (i + 1), (score(hits[i]) - following) / best];
  }

  /* deflect._title_match */
  function titleMatch(title, words) {
    if (!words.length) { return 0.0; }
    var low = title.toLowerCase(), stems = new Set();
    (low.match(WORD_G) || []).forEach(function (t) { stems.add(head5(t)); });
    var found = 0;
    words.forEach(function (w) {
      if (CJK_START.test(w.text) ? low.indexOf(w.text) !== -1 : stems.has(head5(w.text))) { found++; }
    });
    return found / words.length;
  }

  function record(hit, confidence, reason, categoryMatch, scoreValue) {
    var s = scoreValue === undefined ? score(hit) : scoreValue;
    return {id: hit.id, title: hit.title, url: hit.url, source: hit.source,
            score: Math.round(s * 1e4) / 1e4, snippet: hit.snippet, summary: hit.summary,
            audience: hit.audience, topic: hit.topic, language: hit.language,
            confidence: Math.round(confidence * 1e4) / 1e4, reason: reason,
            category_match: categoryMatch, html_url: hit.url, path: hit.path};
  }

  function sum(list, f) { var s = 0.0; list.forEach(function (x) { s += f(x); }); return s; }

  /* Searcher.native_ids: the ids of the articles in the market's language. */
  async function nativeIds(engine) {
    var docs = await engine.docs(), ids = await engine.ids(), out = new Set();
    docs.native.forEach(function (d) { out.add(ids[d]); });
    return out;
  }

  /* deflect._reachable: [coverage denominator, head words, head coverage denominator]
   * over the key words an article of the market's language (native) or an English
   * fallback could contain. */
  function reachable(words, headWords, native) {
    function ok(w) { return !w.total || (native ? w.inNative : w.inOther); }
    var head = headWords.filter(ok);
    return [sum(words.filter(ok), function (x) { return x.idf * x.weight; }) || 1.0, head,
            sum(head, function (x) { return x.idf * x.weight; }) || 1.0];
  }

  /* ------------------------------------------------------------------ suggest */

  /* deflect.suggest_with over an open engine: {results, candidates, draft_confidence,
   * min_confidence, market, version, resolved_version[, category_ignored]}. */
  async function suggest(engine, data, opts) {
    opts = opts || {};
    var k = K(engine);
    var limit = opts.limit === undefined ? 3 : opts.limit;
    if (typeof limit !== "number" || Math.floor(limit) !== limit || limit < 1 || limit > k.MAX_LIMIT) {
      throw new Error("limit must be a whole number from 1 to " + k.MAX_LIMIT + ", got " + limit);
    }
    var model = new Model(engine.m.model);
    var minimum = opts.minConfidence || (engine.m.deflection || {}).min_confidence;
    var threshold = minimum ? minimum : model.threshold;
    var ticket = ticketOf(data || {}, engine);
    var out = {results: [], candidates: [], draft_confidence: 0.0, min_confidence: threshold,
               market: engine.market, version: engine.version, resolved_version: engine.version};
    if (ticket.category_ignored) { out.category_ignored = ticket.category_ignored; }
    var audience = ticket.audience || undefined;
    if (ticket.empty) {
      if (!ticket.category) { return out; }
      var cat = await engine.categoryHits(ticket.category, {limit: limit, audience: audience});
      out.results = cat.hits.map(function (h) {
        return record(h, 1.0, "answers category " + repr(ticket.category), true);
      });
      out.draft_confidence = 1.0;
      return out;
    }

    // 1. the head like a search query (spelling corrected), then the whole ticket
    var head = ticket.head, corrected = head, headHits = [];
    if (hasWords(head)) {
      var res = await engine.search(head, {limit: k.CANDIDATES, audience: audience});
      corrected = res.suggestion || head;
      headHits = res.hits;
    }
    var full = [corrected, ticket.description].filter(Boolean).join(" ");
    if (!hasWords(full)) { return out; }
    var whole = await engine.searchText(full, {limit: k.CANDIDATES, audience: audience,
                                               snippets: false});
    var inCat = ticket.category ? await inCategory(engine, ticket.category, audience) : new Set();

    // 2. coverage: each key word alone, IDF-weighted
    var totalDocs = Math.max(engine.m.documents || 0, 1);
    var seen = new Set();
    var words = wordsOf(corrected, k.MAX_HEAD_WORDS, seen).map(function (w) {
      return {text: w, weight: 1.0, idf: 0.0, total: 0, matched: new Map()};
    });
    var headCount = words.length;
    words = words.concat(wordsOf(ticket.description, k.MAX_DESCRIPTION_WORDS, seen).map(function (w) {
      return {text: w, weight: k.DESCRIPTION_WEIGHT, idf: 0.0, total: 0, matched: new Map()};
    }));
    var stop = engine.stop;
    var headWords = words.slice(0, headCount).filter(function (w) { return !stop[w.text]; });
    words = words.filter(function (w) { return !stop[w.text]; });
    var candidateIds = [];
    headHits.concat(whole.hits).forEach(function (h) {
      if (candidateIds.indexOf(h.id) === -1) { candidateIds.push(h.id); }
    });
    var texts = words.map(function (w) { return w.text; });
    var native = await nativeIds(engine);
    var lookIds = candidateIds.concat(Array.from(native).filter(function (id) {
      return candidateIds.indexOf(id) === -1;
    }).sort());
    var found = await engine.wordMatches(texts, lookIds, audience);
    var fixes = {}, fixList = [];
    for (var i = 0; i < words.length; i++) {
      var w = words[i];
      if (!found[w.text][1]) {
        var fix = await engine.correction(w.text);
        if (fix && isSlip(w.text, fix.toLowerCase())) {
          fixes[w.text] = fix.toLowerCase();
          fixList.push(fixes[w.text]);
        }
      }
    }
    var fixed = fixList.length ? await engine.wordMatches(fixList, lookIds, audience) : {};
    var byCategory = await categoryMatches(engine, texts, lookIds, audience);
    var unknown = 0.0, weightTotal = 0.0, rarity = rarityOf(engine, model.noWordListRarity);
    for (i = 0; i < words.length; i++) {
      w = words[i];
      var ids = found[w.text][0], total = found[w.text][1];
      var named = byCategory[w.text] || [[], 0];
      var credit = 1.0;
      if (!total && fixes[w.text] !== undefined && fixed[fixes[w.text]][1]) {
        ids = fixed[fixes[w.text]][0];
        total = fixed[fixes[w.text]][1];
        credit = k.CORRECTED_CREDIT;
        w.text = fixes[w.text];
      }
      var idSet = new Set(ids);
      named[0].forEach(function (id) { if (!idSet.has(id)) { w.matched.set(id, k.CATEGORY_CREDIT); } });
      var ownIds = ids.filter(function (id) { return native.has(id); }).length;
      var ownNamed = named[0].filter(function (id) { return native.has(id); }).length;
      w.inNative = ownIds > 0 || ownNamed > 0;
      w.inOther = total > ownIds || named[1] > ownNamed;
      total = Math.max(total, named[1]);
      w.total = total;
      w.idf = Math.log(1 + totalDocs / (total + k.UNKNOWN_DF));
      if (total === 0) {
        w.weight *= await rarity(w.text);
        unknown += w.idf * w.weight;
      }
      weightTotal += w.idf * w.weight;
      ids.forEach(function (id) { w.matched.set(id, credit); });
    }
    var reach = {native: reachable(words, headWords, true),
                 other: reachable(words, headWords, false)};
    var unknownShare = weightTotal ? unknown / weightTotal : 0.0;

    // 3. the candidates in search's order; the model scores each, the gate the draft
    var headUnknown = headWords.length
      ? headWords.filter(function (x) { return !x.total; }).length / headWords.length : unknownShare;
    var headRare = unknownShare;
    if (headWords.length) {
      headRare = 0.0;
      for (i = 0; i < headWords.length; i++) {
        if (!headWords[i].total) { headRare += await rarity(headWords[i].text); }
      }
      headRare /= headWords.length;
    }
    var order = new Map();
    headHits.forEach(function (h) { if (!order.has(h.id)) { order.set(h.id, h); } });
    whole.hits.forEach(function (h) { if (!order.has(h.id)) { order.set(h.id, h); } });
    var textRank = new Map(), headRank = new Map();
    whole.hits.forEach(function (h, n) { textRank.set(h.id, n); });
    headHits.forEach(function (h, n) { headRank.set(h.id, n); });
    var headTop = new Set(headHits.slice(0, 3).map(function (h) { return h.id; }));
    var textTop = new Set(whole.hits.slice(0, 3).map(function (h) { return h.id; }));
    var ranked = [], pos = 0;
    order.forEach(function (hit, docId) {
      var matched = words.filter(function (x) { return x.matched.has(docId) && x.weight; });
      var side = native.has(docId) ? reach.native : reach.other, reachHead = side[1];
      var coverage = sum(matched, function (x) { return x.idf * x.weight * x.matched.get(docId); }) / side[0];
      var headCov = reachHead.length
        ? sum(reachHead.filter(function (x) { return x.matched.has(docId); }),
              function (x) { return x.idf * x.matched.get(docId); }) / side[2]
        : coverage;
      var isIn = inCat.has(docId);
      var t = rankFeatures(whole.hits, textRank.get(docId));
      var h = rankFeatures(headHits, headRank.get(docId));
      var x = [1.0 / (pos + 1), h[1], h[0], h[2], t[1], t[0], t[2],
               headTop.has(docId) && textTop.has(docId) ? 1.0 : 0.0,
               coverage, headCov, titleMatch(hit.title, headWords),
               isIn ? 1.0 : 0.0, ticket.category && !isIn ? 1.0 : 0.0,
               unknownShare, headUnknown,
               reachHead.length ? reachHead.filter(function (y) { return y.matched.has(docId); }).length / reachHead.length
                                : coverage,
               headRare];
      var confidence = model.probability(x);
      var top = matched.slice().sort(function (a, b) { return -a.idf * a.weight - -b.idf * b.weight; })
        .slice(0, 5).map(function (y) { return repr(y.text); });
      var reason = "matches " + (top.join(", ") || "nothing") + " (" +
        Math.round(coverage * 100) + "% of the ticket's key words)";
      if (isIn) { reason += "; answers category " + repr(ticket.category); }
      var r = record(hit, confidence, reason, isIn, confidence);
      r.features = x;
      ranked.push(r);
      pos++;
    });
    var draft = model.draftProbability(ranked.map(function (r) { return r.features; }));
    var chosen = ranked.length && draft >= threshold ? ranked.slice(0, limit) : [];
    if (chosen.some(function (s) { return !headRank.has(s.id); })) {
      // snippets of what only the whole ticket found
      var marked = await engine.searchText(full, {limit: k.CANDIDATES, audience: audience});
      var snippets = new Map(marked.hits.map(function (m) { return [m.id, m.snippet]; }));
      chosen = chosen.map(function (s) {
        if (headRank.has(s.id) || !snippets.has(s.id)) { return s; }
        var copy = Object.assign({}, s);
        copy.snippet = snippets.get(s.id);
        return copy;
      });
    }
    out.results = chosen.map(function (s) {
      var copy = Object.assign({}, s);
      delete copy.features;
      return copy;
    });
    out.candidates = ranked;
    out.draft_confidence = draft;
    return out;
  }

  var api = {suggest: suggest, fold: fold, isSlip: isSlip, words: wordsOf,
             resolveCategory: resolveCategory, titleMatch: titleMatch, oneEdit: oneEdit};
  root.helpgenSuggest = api;
  if (typeof module !== "undefined" && module.exports) { module.exports = api; }
})(typeof window !== "undefined" ? window : globalThis);
