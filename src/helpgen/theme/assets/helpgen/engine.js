/* helpgen's search engine in the browser: answers from the static search bundle
 * (helpgen.bundle writes it into <version>/search/bundle/) what `helpgen serve`
 * answers from the Whoosh index, by the same steps (src/helpgen/search.py):
 * typo correction against the index's spelling vocabulary (dictionary words kept),
 * did-you-mean, synonym groups, German compounds and participles, CJK bigrams, BM25F
 * over five fields in two phases, the bonus for matching more of the query and the
 * one for articles in the market's own language, the audience/topic/category filters
 * and marked snippets. Needs helpgen's analysis.js (window.helpgenAnalysis).
 *
 *   helpgenEngine.open(bundleUrl).then(function (engine) {
 *     return engine.search("refnud", {limit: 10});
 *   });  // -> {query, hits: [...], suggestion, corrections, total, market, version}
 *
 * Files are fetched when first needed and kept for the page's life. Nothing here
 * writes HTML: snippets are escaped text with <mark> only, like the server's.
 */
(function (root) {
  "use strict";

  var WORDCH = "\\p{L}\\p{N}_";  // Python's \w (Unicode letters, numbers, underscore)
  var WORD_RUN = new RegExp("[" + WORDCH + "]+", "gu");
  var DIGITS = /^\p{Nd}+$/u;

  function A() { return root.helpgenAnalysis; }

  function chars(s) { return Array.from(s); }
  function clen(s) { return chars(s).length; }

  function escapeHtml(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  /* A key's file name: its UTF-8 bytes in hex (bundle.key_name). */
  function keyName(key) {
    var out = "";
    new TextEncoder().encode(key).forEach(function (b) { out += (b < 16 ? "0" : "") + b.toString(16); });
    return out;
  }
  function reEscape(s) { return s.replace(/[.*+?^${}()|[\]\\\/-]/g, "\\$&"); }

  function bm25(idf, tf, fl, avgfl, B, K1) {
    return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)));
  }

  /* Edit distance where swapping two neighbouring letters is one edit (OSA). */
  function osa(a, b) {
    a = chars(a); b = chars(b);
    var prev2 = [], prev = [], cur, i, j;
    for (j = 0; j <= b.length; j++) { prev.push(j); }
    for (i = 1; i <= a.length; i++) {
      cur = [i];
      for (j = 1; j <= b.length; j++) {
        var cost = a[i - 1] === b[j - 1] ? 0 : 1;
        cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
          cur[j] = Math.min(cur[j], prev2[j - 2] + 1);
        }
      }
      prev2 = prev; prev = cur;
    }
    return prev[b.length];
  }

  /* Plain Levenshtein distance (Whoosh's automaton: the typo candidates it offers). */
  function levenshtein(a, b) {
    a = chars(a); b = chars(b);
    var prev = [], cur, i, j;
    for (j = 0; j <= b.length; j++) { prev.push(j); }
    for (i = 1; i <= a.length; i++) {
      cur = [i];
      for (j = 1; j <= b.length; j++) {
        cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1,
                          prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      }
      prev = cur;
    }
    return prev[b.length];
  }

  /* Python's sort order of strings (code points), for the bisects over sorted terms. */
  function cmp(a, b) {
    if (a === b) { return 0; }
    var x = chars(a), y = chars(b), n = Math.min(x.length, y.length);
    for (var i = 0; i < n; i++) {
      if (x[i] !== y[i]) { return x[i].codePointAt(0) < y[i].codePointAt(0) ? -1 : 1; }
    }
    return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
  }
  function bisectLeft(list, value) {
    var lo = 0, hi = list.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (cmp(list[mid], value) < 0) { lo = mid + 1; } else { hi = mid; }
    }
    return lo;
  }

  /* Python's ``fix.capitalize() if word[:1].isupper() else fix``. */
  function keepCase(word, fix) {
    if (fix === undefined || fix === null) { return word; }
    var first = chars(word)[0] || "";
    if (first === first.toLowerCase()) { return fix; }
    var f = chars(fix);
    return (f[0] || "").toUpperCase() + f.slice(1).join("").toLowerCase();
  }

  function lowerSameLength(text) {
    var low = text.toLowerCase();
    if (low.length === text.length) { return low; }
    var out = "";
    for (var i = 0; i < text.length; i++) { out += text[i].toLowerCase().charAt(0); }
    return out;
  }

  function EngineError(message) { this.name = "EngineError"; this.message = message; }
  EngineError.prototype = Object.create(Error.prototype);

  function Engine(base, manifest, fetcher) {
    this.base = base;
    this.m = manifest;
    this.fetcher = fetcher;
    this.c = manifest.constants;
    this.market = manifest.market;
    this.version = manifest.version;
    this.language = manifest.language;
    this.languages = manifest.languages;
    this.files = {};
    this.tokenCache = {};
    this.native = new Set();  // documents in the market's language, as postings show them
    var stop = {};
    this.languages.forEach(function (lang) {
      A().stopWords(lang).forEach(function (w) { stop[w] = true; });
    });
    this.stop = stop;
    var self = this;
    this.synKeys = (manifest.synonyms || []).map(function (g) {
      return g.map(function (t) { return self.matchKey(t); });
    });
  }

  /* A bundle file, fetched once (a promise shared by every caller). */
  Engine.prototype.file = function (name) {
    var got = this.files[name];
    if (!got) {
      got = this.files[name] = this.fetcher(this.base + name);
      var files = this.files;
      got.catch(function () { delete files[name]; });
    }
    return got;
  };

  Engine.prototype.docs = function () {
    var self = this;
    if (!this._docs) {
      this._docs = this.file(this.m.files.docs).then(function (d) {
        // documents written in the market's language (not English fallbacks)
        var native = {};
        d.native.forEach(function (i) { native[i] = true; });
        d.isNative = native;
        return d;
      });
    }
    return this._docs;
  };

  /* The article ids in document order. */
  Engine.prototype.ids = function () {
    return this.file(this.m.files.ids);
  };

  Engine.prototype.fragment = function (docnum) {
    return this.file(this.m.files.articles + docnum + ".json");
  };

  /* The documents a search may return (null: all), and the filter's document data. */
  Engine.prototype.filterFor = async function (opts) {
    if (!(opts.audience || opts.topic || (opts.categories && opts.categories.length))) {
      return null;
    }
    return this.filter(await this.docs(), opts);
  };

  /* ----------------------------------------------------------------- term look-ups */

  /* The postings of one term of one language (null when the index lacks it):
   * {docs: [docnum...], tfs: [[title, keywords, headings, summary, body]...]}. */
  /* The number of ``lang``'s term chunk that would hold ``term`` (the last whose first
   * term sorts before or at it); -1 when it sorts before every chunk. */
  Engine.prototype.chunkOf = function (lang, term) {
    var dir = this.m.files.terms[lang] || [];
    var lo = 0, hi = dir.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (cmp(dir[mid][0], term) <= 0) { lo = mid + 1; } else { hi = mid; }
    }
    return lo - 1;
  };

  Engine.prototype.term = function (lang, term) {
    var ci = this.chunkOf(lang, term);
    if (ci < 0) { return Promise.resolve(null); }
    var self = this;
    return this.chunk(lang, ci).then(function (chunk) {
      var i = chunk.index[term];
      return i === undefined ? null : self.decode(chunk, i);
    });
  };

  Engine.prototype.chunk = function (lang, i) {
    var key = "terms:" + lang + ":" + i;
    if (!this.files[key]) {
      this.files[key] = this.file(this.m.files.terms[lang][i][1]).then(function (c) {
        var index = {};
        c.t.forEach(function (t, j) { index[t] = j; });
        return {t: c.t, p: c.p, index: index, decoded: {}};
      });
    }
    return this.files[key];
  };

  Engine.prototype.decode = function (chunk, i) {
    var got = chunk.decoded[i];
    if (got) { return got; }
    var flat = chunk.p[i], docs = [], tfs = [], fls = [], all = [], doc = 0, k = 0, b;
    var native = this.native;
    while (k < flat.length) {
      doc += flat[k++];
      var mask = flat[k++], tf = [0, 0, 0, 0, 0], fl = [1, 1, 1, 1, 1];
      for (b = 0; b < 5; b++) { if (mask & (1 << b)) { tf[b] = flat[k++]; } }
      for (b = 0; b < 5; b++) { if (mask & (1 << b)) { fl[b] = flat[k++]; } }
      all.push(flat[k++]);
      if (mask & 32) { native.add(doc); }
      docs.push(doc);
      tfs.push(tf);
      fls.push(fl);
    }
    var df = [0, 0, 0, 0, 0];
    tfs.forEach(function (tf) { for (var b2 = 0; b2 < 5; b2++) { if (tf[b2]) { df[b2]++; } } });
    got = chunk.decoded[i] = {docs: docs, tfs: tfs, fls: fls, all: all, df: df};
    return got;
  };

  /* Terms of ``lang`` that begin with ``prefix``, in the index's order, while
   * ``take(term)`` returns true (false: stop). */
  Engine.prototype.expandPrefix = function (lang, prefix, take) {
    var dir = this.m.files.terms[lang] || [], self = this;
    var ci = Math.max(0, this.chunkOf(lang, prefix));
    function step(i) {
      if (i >= dir.length) { return Promise.resolve(); }
      return self.chunk(lang, i).then(function (chunk) {
        var j = bisectLeft(chunk.t, prefix);
        for (; j < chunk.t.length; j++) {
          if (chunk.t[j].lastIndexOf(prefix, 0) !== 0) { return; }
          if (take(chunk.t[j]) === false) { return; }
        }
        return step(i + 1);
      });
    }
    return step(ci);
  };

  /* The spelling file of one key (first letter and length), null when there is none. */
  Engine.prototype.spellFile = function (key) {
    var sp = this.m.files.spell;
    if (!this._spellKeys) { this._spellKeys = new Set(sp.keys); }
    return this._spellKeys.has(key) ? this.file(sp.dir + keyName(key) + ".json")
      : Promise.resolve(null);
  };

  Engine.prototype.known = function (word) {
    return this.spellFile(chars(word)[0] + clen(word)).then(function (flat) {
      if (!flat) { return false; }
      for (var i = 0; i < flat.length; i += 2) { if (flat[i] === word) { return flat[i + 1] > 0; } }
      return false;
    });
  };

  Engine.prototype.dictionaryHas = function (lang, word) {
    return this.dictionaryCount(lang, word).then(function (n) { return n !== null; });
  };

  /* How often a word occurs in the language's word list (null: not listed). */
  Engine.prototype.dictionaryCount = function (lang, word) {
    return this.dictionaryFile(lang, chars(word).slice(0, 2).join("")).then(function (words) {
      return words && Object.prototype.hasOwnProperty.call(words, word) ? words[word] : null;
    });
  };

  /* The words (-> counts) of ``lang``'s word list beginning with ``key`` (two
   * letters); null when the list has none or the language has no list. keys.json
   * lists the keys of each file: file ``<n>.json`` maps each of pack n's keys to its
   * words. */
  Engine.prototype.dictionaryFile = function (lang, key) {
    var d = this.m.files.dict[lang], self = this;
    if (!d) { return Promise.resolve(null); }
    return this.file(d.dir + "keys.json").then(function (packs) {
      if (!d.packOf) {
        d.packOf = new Map();
        packs.forEach(function (keys, n) { keys.forEach(function (k) { d.packOf.set(k, n); }); });
      }
      var n = d.packOf.get(key);
      if (n === undefined) { return null; }
      return self.file(d.dir + n + ".json").then(function (pack) { return pack[key]; });
    });
  };

  /* Whether a word is in the dictionary of an index language, or (German) a compound
   * of two such words or indexed words. */
  Engine.prototype.inDictionary = async function (word) {
    var langs = Object.keys(this.m.files.dict);
    for (var i = 0; i < langs.length; i++) {
      if (await this.dictionaryHas(langs[i], word)) { return true; }
    }
    if (!this.m.files.dict.de) { return false; }
    var self = this;
    return this.isCompound(word, async function (w) {
      return (await self.dictionaryHas("de", w)) || (await self.known(w));
    });
  };

  Engine.prototype.isCompound = async function (word, known) {
    var w = chars(word), MIN = this.c.MIN_PART;
    for (var i = MIN - 1; i < w.length - MIN + 1; i++) {
      var left = w.slice(0, i).join(""), right = w.slice(i).join("");
      if (!(await known(right))) { continue; }
      var links = ["", "s", "n", "en", "es", "e"];
      for (var k = 0; k < links.length; k++) {
        var link = links[k];
        if (link && !left.endsWith(link)) { continue; }
        if (await known(link ? left.slice(0, left.length - link.length) : left)) { return true; }
      }
    }
    return false;
  };

  /* The most frequent indexed word within the allowed typo distance. */
  Engine.prototype.closest = async function (word) {
    var n = clen(word), first = chars(word)[0], allowed = n < 8 ? 1 : 2, best = null;
    for (var len = Math.max(1, n - 2); len <= n + 2; len++) {
      var flat = await this.spellFile(first + len);
      if (!flat) { continue; }
      for (var i = 0; i < flat.length; i += 2) {
        var cand = flat[i];
        if (cand === word || len < 2) { continue; }
        if (levenshtein(word, cand) > 2) { continue; }
        var dist = osa(word, cand);
        if (dist > allowed) { continue; }
        var key = [dist, -flat[i + 1], cand];
        if (best === null || key[0] < best[0] || key[0] === best[0] &&
            (key[1] < best[1] || key[1] === best[1] && cmp(key[2], best[2]) < 0)) {
          best = key;
        }
      }
    }
    return best ? best[2] : null;
  };

  /* ------------------------------------------------------------------ analysis */

  Engine.prototype.analyze = function (lang, text, removestops) {
    return A().analyze(lang, text, removestops === undefined ? true : removestops);
  };

  Engine.prototype.matchKey = function (text) {
    var out = [], self = this;
    A().tokens(text.toLowerCase()).forEach(function (m) {
      if (m.cjk) { out.push(m.text); return; }
      var stems = [];
      self.languages.forEach(function (lang) {
        self.analyze(lang, m.text, false).forEach(function (t) {
          if (stems.indexOf(t) === -1) { stems.push(t); }
        });
      });
      out.push(stems.length ? stems.reduce(function (a, b) { return cmp(a, b) <= 0 ? a : b; })
               : m.text);
    });
    return out;
  };

  function contains(seq, sub) {
    if (sub.length === 1 && A().isCjkRun(sub[0])) {
      return seq.some(function (s) { return s.indexOf(sub[0]) !== -1; });
    }
    for (var i = 0; i + sub.length <= seq.length; i++) {
      var ok = true;
      for (var j = 0; j < sub.length; j++) { if (seq[i + j] !== sub[j]) { ok = false; break; } }
      if (ok) { return true; }
    }
    return false;
  }

  Engine.prototype.expansions = function (text) {
    var groups = this.m.synonyms || [];
    if (!groups.length) { return []; }
    var qkey = this.matchKey(text), out = [];
    for (var g = 0; g < groups.length; g++) {
      var keys = this.synKeys[g], hit = [], others = [];
      keys.forEach(function (k, i) { if (k.length && contains(qkey, k)) { hit.push(i); } });
      groups[g].forEach(function (t, i) { if (hit.indexOf(i) === -1) { others.push(t); } });
      if (hit.length && others.length) {
        out.push([hit.map(function (i) { return keys[i]; }), others]);
      }
    }
    return out;
  };

  Engine.prototype.words = function (text, maxTerms) {
    var seen = [], have = {}, self = this;
    var toks = A().tokens(text.toLowerCase());
    for (var i = 0; i < toks.length; i++) {
      var w = toks[i].text;
      if (have[w] || (!toks[i].cjk && self.stop[w])) { continue; }
      have[w] = true;
      seen.push({text: w, alternatives: []});
      if (seen.length >= maxTerms) { break; }
    }
    return seen;
  };

  Engine.prototype.part = function (word, weight, loose) {
    var tokens = {}, any = false, self = this;
    this.languages.forEach(function (lang) {
      var toks = [];
      self.analyze(lang, word).forEach(function (t) { if (toks.indexOf(t) === -1) { toks.push(t); } });
      if (toks.length) { tokens[lang] = toks; any = true; }
    });
    return any ? {tokens: tokens, weight: weight, words: [word], loose: !!loose} : null;
  };

  Engine.prototype.correct = async function (words, text) {
    var fixes = {}, fixed = false, out = [];
    for (var i = 0; i < words.length; i++) {
      var w = words[i], n = clen(w.text);
      if (A().isCjkRun(w.text) || n < 3 || n > this.c.MAX_WORD_CHARS || DIGITS.test(w.text) ||
          (await this.known(w.text)) || (await this.inDictionary(w.text))) {
        out.push(w);
        continue;
      }
      var best = await this.closest(w.text);
      if (best === null) { out.push(w); continue; }
      if (!(best.lastIndexOf(w.text, 0) === 0 || w.text.lastIndexOf(best, 0) === 0)) {
        fixes[w.text] = best;  // an inflection is searched, not suggested
        fixed = true;
      }
      out.push({text: w.text, alternatives: [[best, this.c.CORRECTION_WEIGHT]]});
    }
    if (!fixed) { return {words: out, suggestion: null, corrections: []}; }
    var suggestion = text.replace(WORD_RUN, function (m) {
      var f = fixes[m.toLowerCase()];
      return keepCase(m, f);
    });
    var typed = {};
    (text.match(WORD_RUN) || []).forEach(function (m) { typed[m.toLowerCase()] = m; });
    var corrections = Object.keys(fixes).map(function (word) {
      var t = typed[word] !== undefined ? typed[word] : word;
      return {from: t, to: keepCase(t, fixes[word])};
    });
    return {words: out, suggestion: suggestion, corrections: corrections};
  };

  /* ------------------------------------------------------------- German words */

  Engine.prototype.deStem = function (word) {
    var toks = this.analyze("de", word);
    return toks.length === 1 ? toks[0] : null;
  };

  Engine.prototype.deKnown = function (tok) {
    return this.term("de", tok).then(function (t) { return t !== null && t.docs.length > 0; });
  };

  Engine.prototype.germanCompounds = async function (stem) {
    var found = [], MAX = this.c.MAX_COMPOUNDS, n = clen(stem);
    await this.expandPrefix("de", stem, function (term) {
      if (clen(term) >= n + 3) {
        found.push(term);
        if (found.length >= MAX) { return false; }
      }
    });
    if (found.length >= MAX) { return found; }
    var rev = chars(stem).reverse().join("");
    var name = this.m.files.ends[chars(rev)[0]];
    if (!name) { return found; }
    var endings = await this.file(name);
    var i = bisectLeft(endings, rev), need = Math.max(3, this.c.MIN_PART);
    while (i < endings.length && endings[i].lastIndexOf(rev, 0) === 0) {
      if (clen(endings[i]) - n >= need) {
        found.push(chars(endings[i]).reverse().join(""));
        if (found.length >= MAX) { break; }
      }
      i++;
    }
    return found;
  };

  function participleForms(word) {
    var w = word.toLowerCase(), n = clen(w);
    if (w.lastIndexOf("ge", 0) === 0 && w.endsWith("t") && n >= 7) {
      var base = w.slice(2, -1);
      return base.endsWith("er") || base.endsWith("el") ? [base + "n"] : [base + "en", base + "n"];
    }
    if ((w.endsWith("ern") || w.endsWith("eln")) && n >= 6) { return ["ge" + w.slice(0, -1) + "t"]; }
    if (w.endsWith("en") && n >= 6) { return ["ge" + w.slice(0, -2) + "t"]; }
    return [];
  }

  Engine.prototype.splitCompound = async function (word) {
    var lower = chars(word.toLowerCase()), MIN = this.c.MIN_PART, headOnly = null;
    for (var i = MIN; i < lower.length - MIN + 1; i++) {
      var left = lower.slice(0, i).join(""), right = lower.slice(i).join("");
      var rstem = this.deStem(right);
      if (!rstem || !(await this.deKnown(rstem))) { continue; }
      var links = ["", "s", "n", "en", "es", "e"];
      for (var k = 0; k < links.length; k++) {
        var link = links[k];
        if (link && !left.endsWith(link)) { continue; }
        var base = link ? left.slice(0, left.length - link.length) : left;
        if (clen(base) < MIN - 1) { continue; }
        var lstem = this.deStem(base);
        if (lstem && (await this.deKnown(lstem))) { return [right, [[base, lstem], [right, rstem]]]; }
      }
      if (headOnly === null) { headOnly = [right, [[right, rstem]]]; }
    }
    return headOnly;
  };

  Engine.prototype.german = async function (word) {
    if (this.languages.indexOf("de") === -1 || !A().isWord(word)) { return []; }
    var stem = this.deStem(word);
    if (stem === null) { return []; }
    var out = [], c = this.c;
    if (clen(stem) >= c.MIN_GERMAN_STEM) {
      var found = await this.germanCompounds(stem);
      if (found.length) { out.push([{tokens: {de: found}, weight: c.COMPOUND_WEIGHT, words: [word], loose: false}]); }
    }
    var related = [], forms = participleForms(word);
    for (var i = 0; i < forms.length; i++) {
      var s = this.deStem(forms[i]);
      if (s && s !== stem && related.indexOf(s) === -1 && (await this.deKnown(s))) { related.push(s); }
    }
    if (related.length) {
      related.sort(cmp);
      out.push([{tokens: {de: related}, weight: c.PARTICIPLE_WEIGHT, words: [word], loose: false}]);
    }
    var split = clen(word) >= 2 * c.MIN_PART ? await this.splitCompound(word) : null;
    if (split !== null) {
      var weight = (await this.deKnown(stem)) ? c.COMPOUND_WEIGHT : 1.0;
      var parts = split[1];
      if (parts.length === 2) {
        out.push(parts.map(function (p) {
          return {tokens: {de: [p[1]]}, weight: weight, words: [p[0]], loose: true};
        }));
      } else {
        out.push([{tokens: {de: [parts[0][1]]}, weight: c.COMPOUND_WEIGHT, words: [split[0]], loose: false}]);
      }
    }
    return out;
  };

  /* ------------------------------------------------------------------ planning */

  /* Concepts -> alternatives -> parts (all parts of an alternative must match). */
  Engine.prototype.plan = async function (words, text) {
    var concepts = [], conceptOf = {}, self = this;
    for (var i = 0; i < words.length; i++) {
      var w = words[i], alts = [];
      [this.part(w.text, 1.0)].concat(w.alternatives.map(function (a) {
        return self.part(a[0], a[1]);
      })).forEach(function (p) { if (p) { alts.push([p]); } });
      alts = alts.concat(await this.german(w.text));
      if (alts.length) {
        conceptOf[i] = concepts.length;
        concepts.push(alts);
      }
    }
    var expansions = this.expansions(text);
    var byKey = {};
    if (expansions.length) {
      words.forEach(function (w, i) { byKey[JSON.stringify(self.matchKey(w.text))] = i; });
    }
    expansions.forEach(function (ex) {
      var triggers = ex[0], group = ex[1], galts = [];
      group.forEach(function (phrase) {
        var parts = [];
        A().tokens(phrase).forEach(function (m) {
          if (!m.cjk && self.stop[m.text]) { return; }
          var p = self.part(m.text, self.c.SYNONYM_WEIGHT);
          if (p) { parts.push(p); }
        });
        if (parts.length) { galts.push(parts); }
      });
      if (!galts.length) { return; }
      var owners = [];
      triggers.forEach(function (k) {
        var o = byKey[JSON.stringify(k)];
        o = o === undefined ? null : o;
        if (owners.indexOf(o) === -1) { owners.push(o); }
      });
      var word = owners.length === 1 ? owners[0] : null;
      if (word !== null && conceptOf[word] !== undefined) {
        concepts[conceptOf[word]] = concepts[conceptOf[word]].concat(galts);
      } else {
        concepts.push(galts);
      }
    });
    return concepts;
  };

  /* ------------------------------------------------------------------- running */

  Engine.prototype.filter = function (docs, opts) {
    var m = this.m, checks = [];
    if (opts.audience) {
      var a = m.audiences.indexOf(opts.audience);
      if (a === -1) {
        throw new EngineError("unknown audience " + JSON.stringify(opts.audience) +
                              "; allowed: " + m.audiences.join(", "));
      }
      checks.push(function (d) { return docs.aud[d] === a; });
    }
    if (opts.topic) {
      if (m.topics.indexOf(opts.topic) === -1) {
        throw new EngineError("unknown topic " + JSON.stringify(opts.topic) +
                              "; allowed: " + m.topics.join(", "));
      }
      var t = opts.topic;
      checks.push(function (d) {
        var mine = m.topics[docs.topic[d]];
        return mine === t || (mine !== undefined && mine.lastIndexOf(t + "/", 0) === 0);
      });
    }
    if (opts.categories && opts.categories.length) {
      var want = opts.categories.map(function (c) { return m.categories.indexOf(c); });
      checks.push(function (d) {
        return docs.cats[d].some(function (c) { return want.indexOf(c) !== -1; });
      });
    }
    if (!checks.length) { return null; }
    return function (d) { return checks.every(function (f) { return f(d); }); };
  };

  Engine.prototype.idf = function (df) {
    return Math.log(this.m.documents / (df + 1)) + 1;
  };

  /* Phase 1: the best ``pool`` documents by the combined field, and how many match. */
  Engine.prototype.candidates = async function (plan, filt, pool) {
    var terms = {}, order = [];
    plan.forEach(function (alts) { alts.forEach(function (parts) { parts.forEach(function (part) {
      Object.keys(part.tokens).forEach(function (lang) { part.tokens[lang].forEach(function (tok) {
        var key = lang + "\u0000" + tok;
        if (!(key in terms)) { order.push(key); terms[key] = 0; }
        terms[key] = Math.max(terms[key], part.weight);
      }); });
    }); }); });
    var scores = new Map(), B = this.m.bm25.B, K1 = this.m.bm25.K1, w = this.m.all_field;
    var mult = [w.title, w.keywords, w.headings, w.summary, w.body];
    for (var i = 0; i < order.length; i++) {
      var sep = order[i].indexOf("\u0000"), lang = order[i].slice(0, sep);
      var posting = await this.term(lang, order[i].slice(sep + 1));
      if (!posting) { continue; }
      var idf = this.idf(posting.docs.length), avg = this.m.avg_length["all_" + lang];
      for (var j = 0; j < posting.docs.length; j++) {
        var d = posting.docs[j];
        if (filt && !filt(d)) { continue; }
        var tf = posting.tfs[j], tfa = 0;
        for (var b = 0; b < 5; b++) { tfa += tf[b] * mult[b]; }
        var sc = bm25(idf, tfa, posting.all[j], avg, B, K1) * terms[order[i]];
        scores.set(d, (scores.get(d) || 0) + sc);
      }
    }
    var all = Array.from(scores.entries());
    all.sort(function (x, y) { return y[1] - x[1] || x[0] - y[0]; });
    var top = all.slice(0, pool).map(function (x) { return x[0]; });
    top.sort(function (x, y) { return x - y; });
    return [top, all.length];
  };

  /* Phase 2: BM25F per field with field weights on the candidates only. */
  Engine.prototype.rescore = async function (plan, docnums) {
    var self = this, B = this.m.bm25.B, K1 = this.m.bm25.K1;
    var boosts = this.m.field_boosts, fields = Object.keys(boosts), cset = new Set(docnums);
    var cache = {};
    async function postings(fi, lang, tok) {
      var key = fi + "\u0000" + lang + "\u0000" + tok;
      if (cache[key]) { return cache[key]; }
      var got = new Map(), p = await self.term(lang, tok);
      if (p && p.df[fi]) {
        var idf = self.idf(p.df[fi]), avg = self.m.avg_length[fields[fi] + "_" + lang] || 1;
        for (var j = 0; j < p.docs.length; j++) {
          var d = p.docs[j];
          if (p.tfs[j][fi] && cset.has(d)) {
            got.set(d, bm25(idf, p.tfs[j][fi], p.fls[j][fi], avg, B, K1));
          }
        }
      }
      cache[key] = got;
      return got;
    }
    async function partScores(part) {
      var out = new Map();
      var langs = Object.keys(part.tokens);
      for (var li = 0; li < langs.length; li++) {
        var toks = part.tokens[langs[li]], norm = part.weight / Math.sqrt(toks.length);
        for (var fi = 0; fi < fields.length; fi++) {
          var boost = boosts[fields[fi]];
          for (var ti = 0; ti < toks.length; ti++) {
            (await postings(fi, langs[li], toks[ti])).forEach(function (sc, d) {
              out.set(d, (out.get(d) || 0) + sc * boost * norm);
            });
          }
        }
      }
      return out;
    }
    var totals = new Map(), matched = new Map(), c = this.c;
    for (var ci = 0; ci < plan.length; ci++) {
      var best = new Map(), rest = new Map(), alts = plan[ci];
      for (var ai = 0; ai < alts.length; ai++) {
        var parts = alts[ai], scored = [];
        for (var pi = 0; pi < parts.length; pi++) { scored.push(await partScores(parts[pi])); }
        var common = Array.from(scored[0].keys()).filter(function (d) {
          return scored.every(function (s) { return s.has(d); });
        });
        if (parts.length > 1 && !parts[0].loose) {  // a phrase: words stand together
          var kept = [];
          for (var k = 0; k < common.length; k++) {
            if (await self.hasPhrase(common[k], parts)) { kept.push(common[k]); }
          }
          common = kept;
        }
        common.forEach(function (d) {
          var sc = 0;
          scored.forEach(function (s) { sc += s.get(d); });
          var old = best.has(d) ? best.get(d) : 0.0;
          var low = Math.min(old, sc), high = Math.max(old, sc);
          best.set(d, high);
          rest.set(d, (rest.get(d) || 0) + low);
        });
      }
      best.forEach(function (sc, d) {
        totals.set(d, (totals.get(d) || 0) + sc + c.ALTERNATIVES_TIEBREAK * rest.get(d));
        matched.set(d, (matched.get(d) || 0) + 1);
      });
    }
    var n = plan.length, out = new Map();
    totals.forEach(function (sc, d) {
      out.set(d, sc * (1 + c.COORDINATION * matched.get(d) / n) *
                 (self.native.has(d) ? c.NATIVE_BONUS : 1));
    });
    return out;
  };

  Engine.prototype.hasPhrase = async function (docnum, parts) {
    var f = await this.fragment(docnum);
    var text = [f.title || "", f.keywords || "", f.summary || "", f.text || ""].join(" ").toLowerCase();
    var words = [];
    parts.forEach(function (p) { p.words.forEach(function (w) {
      var low = chars(w.toLowerCase());
      words.push(reEscape(low.slice(0, Math.max(3, low.length - 2)).join("")));
    }); });
    var re = new RegExp("(?<![" + WORDCH + "])" + words.join("[" + WORDCH + "]*[^" + WORDCH + "]+") +
                        "[" + WORDCH + "]*", "u");
    return re.test(text);
  };

  function candidatePattern(terms, hints) {
    var prefixes = {}, grams = [];
    terms.concat(hints).forEach(function (t) {
      if (A().isWord(t)) { prefixes[chars(t).slice(0, 3).join("").toLowerCase()] = true; }
    });
    terms.forEach(function (t) { if (A().isCjkRun(t)) { grams.push(t); } });
    grams.sort(function (a, b) { return clen(b) - clen(a); });
    var parts = grams.map(reEscape), pre = Object.keys(prefixes).sort(cmp);
    if (pre.length) {
      parts.push("(?<![" + WORDCH + "])(?:" + pre.map(reEscape).join("|") + ")[" + WORDCH + "]*");
    }
    return parts.length ? new RegExp(parts.join("|"), "gu") : null;
  }

  Engine.prototype.tokensOf = function (lang) {
    var cache = this.tokenCache[lang] || (this.tokenCache[lang] = new Map()), self = this;
    return function (word) {
      var got = cache.get(word);
      if (!got) { got = self.analyze(lang, word); cache.set(word, got); }
      return got;
    };
  };

  /* The window of ``text`` with the most matched terms, escaped, terms in <mark>. */
  function makeSnippet(text, terms, tokensOf, pattern, width) {
    if (!text) { return ""; }
    var termSet = new Set(terms), spans = [];
    var lowered = lowerSameLength(text);
    if (pattern !== null) {
      var found = new Set(), stop = text.length, m;
      pattern.lastIndex = 0;
      while ((m = pattern.exec(lowered)) !== null) {
        if (m[0] === "") { pattern.lastIndex++; continue; }
        if (m.index > stop) { break; }
        var word = m[0], end = m.index + word.length, tok = null;
        if (termSet.has(word)) { tok = word; } else {
          var toks = tokensOf(text.slice(m.index, end));
          for (var i = 0; i < toks.length; i++) { if (termSet.has(toks[i])) { tok = toks[i]; break; } }
        }
        if (tok === null) { continue; }
        spans.push([m.index, end, tok]);
        found.add(tok);
        if (spans.length === 1) { stop = m.index + 4 * width; }
        if (found.size === termSet.size) { break; }
      }
    }
    if (!spans.length) {
      var cut = text.slice(0, width);
      if (text.length > width) {
        var sp = cut.lastIndexOf(" ");
        cut = (sp >= 0 ? cut.slice(0, sp) : cut) + " …";
      }
      return escapeHtml(cut).replace(/\n/g, " ");
    }
    var merged = [];
    spans.forEach(function (s) {
      if (merged.length && s[0] <= merged[merged.length - 1][1]) {
        merged[merged.length - 1][1] = Math.max(merged[merged.length - 1][1], s[1]);
      } else { merged.push([s[0], s[1]]); }
    });
    var bestStart = spans[0][0], bestScore = -1;
    var wanted = new Set(spans.map(function (s) { return s[2]; })).size, j = 0;
    var limit = Math.min(spans.length, 40);
    for (var i2 = 0; i2 < limit; i2++) {
      var s0 = spans[i2][0];
      j = Math.max(j, i2);
      while (j + 1 < spans.length && spans[j + 1][1] <= s0 + width) { j++; }
      var distinct = new Set(spans.slice(i2, j + 1).map(function (s) { return s[2]; })).size;
      if (distinct > bestScore) {
        bestStart = s0; bestScore = distinct;
        if (distinct === wanted) { break; }
      }
    }
    var start = Math.max(0, bestStart - Math.floor(width / 4));
    if (start) {
      var space = text.lastIndexOf(" ", start - 1);
      start = space >= 0 && start - space < 20 ? space + 1 : start;
    }
    var stopAt = Math.min(text.length, start + width);
    if (stopAt < text.length) {
      var sp2 = text.lastIndexOf(" ", stopAt - 1);
      if (sp2 < start) { sp2 = -1; }
      stopAt = sp2 > start + Math.floor(width / 2) ? sp2 : stopAt;
    }
    var out = start ? ["… "] : [], pos = start;
    merged.forEach(function (r) {
      var s = r[0], e = r[1];
      if (e <= start || s >= stopAt) { return; }
      s = Math.max(s, start); e = Math.min(e, stopAt);
      out.push(escapeHtml(text.slice(pos, s)));
      out.push("<mark>" + escapeHtml(text.slice(s, e)) + "</mark>");
      pos = e;
    });
    out.push(escapeHtml(text.slice(pos, stopAt)));
    if (stopAt < text.length) { out.push(" …"); }
    return out.join("").replace(/\n/g, " ");
  }

  Engine.prototype.place = function (f) {
    var labels = this.m.labels || {}, aud = labels.audiences || {}, top = labels.topics || {};
    var parts = f.topic ? f.topic.split("/") : [], titles = [];
    for (var i = 0; i < parts.length; i++) {
      var code = parts.slice(0, i + 1).join("/");
      titles.push(top[code] !== undefined ? top[code] : parts[i]);
    }
    return {audience_title: aud[f.audience] !== undefined ? aud[f.audience] : f.audience,
            topic_title: titles.join(" › ")};
  };

  /* Both phases: {best: [[docnum, score]...] (at most ``limit``, best first), total}.
   * One candidate pool for every limit up to STABLE_LIMIT: the top k never depends on
   * the limit. */
  Engine.prototype.ranked = async function (plan, filt, limit) {
    var pool = Math.max(this.c.CANDIDATES, limit + 5);
    var cand = await this.candidates(plan, filt, pool);
    var scores = await this.rescore(plan, cand[0]);
    // candidates matching only part of an all-words alternative score nothing
    var total = cand[0].length < pool ? scores.size : Math.max(scores.size, cand[1]);
    var best = Array.from(scores.entries());
    best.sort(function (x, y) { return y[1] - x[1] || x[0] - y[0]; });
    return {best: best.slice(0, limit), total: total};
  };

  Engine.prototype.run = async function (original, plan, limit, opts, suggestion, corrections) {
    var filt = await this.filterFor(opts);
    var result = {query: original, market: this.market, version: this.version, hits: [],
                  suggestion: suggestion, corrections: corrections || [], total: 0};
    if (!plan.length) { return result; }
    var ranked = await this.ranked(plan, filt, limit), best = ranked.best;
    result.total = ranked.total;
    var hints = [], self = this, snippets = opts.snippets !== false, highlight = {};
    plan.forEach(function (alts) { alts.forEach(function (parts) { parts.forEach(function (p) {
      p.words.forEach(function (w) { var l = w.toLowerCase(); if (hints.indexOf(l) === -1) { hints.push(l); } });
    }); }); });
    var frags = await Promise.all(best.map(function (b) { return self.fragment(b[0]); }));
    best.forEach(function (b, i) {
      var f = frags[i], lang = self.languages.indexOf(f.language) !== -1 ? f.language : "en";
      var snippet = "";
      if (snippets) {
        if (!highlight[lang]) {
          var terms = [];
          plan.forEach(function (alts) { alts.forEach(function (parts) { parts.forEach(function (p) {
            (p.tokens[lang] || []).forEach(function (t) { if (terms.indexOf(t) === -1) { terms.push(t); } });
          }); }); });
          highlight[lang] = [terms, self.tokensOf(lang),
                             terms.length ? candidatePattern(terms, hints) : null];
        }
        var h = highlight[lang], width = self.c.SNIPPET_CHARS;
        snippet = makeSnippet(f.text || "", h[0], h[1], h[2], width);
        if (snippet.indexOf("<mark>") === -1 && f.summary) {
          var alt = makeSnippet(f.summary, h[0], h[1], h[2], width);
          if (alt.indexOf("<mark>") !== -1) { snippet = alt; }
        }
      }
      var hit = {id: f.id, title: f.title, url: "/" + self.market + "/" + self.version + "/" + f.url,
                 path: f.url, source: f.source, score: Math.round(b[1] * 1e4) / 1e4,
                 rawScore: b[1], snippet: snippet, summary: f.summary || "", audience: f.audience,
                 topic: f.topic, language: f.language};
      var place = self.place(f);
      hit.audience_title = place.audience_title;
      hit.topic_title = place.topic_title;
      result.hits.push(hit);
    });
    return result;
  };

  function checkLimit(limit) {
    if (limit === undefined) { return 10; }
    if (typeof limit !== "number" || limit < 1 || Math.floor(limit) !== limit) {
      throw new EngineError("limit must be a positive whole number, got " + limit);
    }
    return Math.min(limit, 1000);
  }

  /* ------------------------------------------------------------ public queries */

  Engine.prototype.search = async function (query, opts) {
    opts = opts || {};
    var c = this.c;
    if (typeof query !== "string" || !A().clean(query.slice(0, 4 * c.MAX_QUERY_CHARS))) {
      throw new EngineError("empty query: type a few words to search for");
    }
    var text = A().clean(query, c.MAX_QUERY_CHARS), limit = checkLimit(opts.limit);
    await this.filterFor(opts);  // an unknown audience or topic is refused first
    var words = this.words(text, c.MAX_QUERY_TERMS);
    var fixed = await this.correct(words, text);
    var plan = await this.plan(fixed.words, fixed.suggestion === null ? text : fixed.suggestion);
    return this.run(query, plan, limit, opts, fixed.suggestion, fixed.corrections);
  };

  Engine.prototype.searchText = async function (text, opts) {
    opts = opts || {};
    var cleaned = A().clean(text || "", 20000);
    if (!cleaned) { throw new EngineError("empty text: nothing to search for"); }
    var limit = checkLimit(opts.limit);
    var plan = await this.plan(this.words(cleaned, this.c.MAX_TEXT_TERMS), cleaned);
    return this.run(text, plan, limit, opts, null, []);
  };

  Engine.prototype.correction = async function (query) {
    var text = A().clean(query || "", this.c.MAX_QUERY_CHARS);
    if (!text) { return null; }
    return (await this.correct(this.words(text, this.c.MAX_QUERY_TERMS), text)).suggestion;
  };

  /* The ids of searchText's top ``limit`` hits and its total, without snippets. */
  Engine.prototype.matchingIds = async function (text, opts) {
    opts = opts || {};
    var cleaned = A().clean(text || "", 20000);
    if (!cleaned) { return [[], 0]; }
    var limit = checkLimit(opts.limit), filt = await this.filterFor(opts);
    var plan = await this.plan(this.words(cleaned, this.c.MAX_TEXT_TERMS), cleaned);
    if (!plan.length) { return [[], 0]; }
    var single = plan.every(function (alts) { return alts.every(function (parts) {
      return parts.length === 1 && !parts[0].loose; }); });
    if (single) {
      // phase 1 alone ranks them (ids in document order, as the server gives them)
      var cand = await this.candidates(plan, filt, limit), idsOf = await this.ids();
      return [cand[0].map(function (d) { return idsOf[d]; }), cand[1]];
    }
    var ranked = await this.ranked(plan, filt, limit), ids = await this.ids();
    return [ranked.best.map(function (b) { return ids[b[0]]; }), ranked.total];
  };

  /* [Map docnum -> id of the articles ``ids``, the audience filter or null]. */
  Engine.prototype.scope = async function (docs, ids, audience) {
    var filt = this.filter(docs, {audience: audience}), want = new Set(ids), of = new Map();
    (await this.ids()).forEach(function (id, d) { if (want.has(id)) { of.set(d, id); } });
    return [of, filt];
  };

  /* For each word: which of the articles ``ids`` contain it (the word, a stem or a
   * synonym), and how many articles contain it in all. */
  Engine.prototype.wordMatches = async function (words, ids, audience) {
    var docs = await this.docs(), sc = await this.scope(docs, ids, audience), out = {};
    for (var i = 0; i < words.length; i++) {
      var cleaned = A().clean(words[i] || "", this.c.MAX_QUERY_CHARS);
      var plan = cleaned ? await this.plan(this.words(cleaned, this.c.MAX_TEXT_TERMS), cleaned) : [];
      var found = new Set();
      for (var ci = 0; ci < plan.length; ci++) {
        for (var ai = 0; ai < plan[ci].length; ai++) {
          var alt = null;  // documents with every part (a part: any language with all its tokens)
          for (var pi = 0; pi < plan[ci][ai].length; pi++) {
            var part = plan[ci][ai][pi], partDocs = new Set(), langs = Object.keys(part.tokens);
            for (var li = 0; li < langs.length; li++) {
              var inAll = null, toks = part.tokens[langs[li]];
              for (var ti = 0; ti < toks.length; ti++) {
                var p = await this.term(langs[li], toks[ti]), ds = new Set(p ? p.docs : []);
                inAll = inAll === null ? ds : new Set(Array.from(inAll).filter(function (d) { return ds.has(d); }));
              }
              (inAll || []).forEach(function (d) { partDocs.add(d); });
            }
            alt = alt === null ? partDocs : new Set(Array.from(alt).filter(function (d) { return partDocs.has(d); }));
          }
          (alt || []).forEach(function (d) { found.add(d); });
        }
      }
      if (sc[1]) { found = new Set(Array.from(found).filter(sc[1])); }
      var mine = [];
      sc[0].forEach(function (id, d) { if (found.has(d)) { mine.push(id); } });
      out[words[i]] = [mine, found.size];
    }
    return out;
  };

  /* The articles that declare ticket category ``category``: the market's language
   * first, then by title. */
  Engine.prototype.categoryHits = async function (category, opts) {
    opts = opts || {};
    var docs = await this.docs(), limit = checkLimit(opts.limit);
    var filt = this.filter(docs, {audience: opts.audience, categories: [category]}), self = this;
    var matching = [];
    for (var d = 0; d < docs.count; d++) { if (filt(d)) { matching.push(d); } }
    var frags = await Promise.all(matching.map(function (d) { return self.fragment(d); }));
    var rows = matching.map(function (d, i) { return [d, frags[i]]; });
    rows.sort(function (x, y) {
      var nx = docs.isNative[x[0]] ? 0 : 1, ny = docs.isNative[y[0]] ? 0 : 1;
      return nx - ny || cmp(x[1].title, y[1].title) || cmp(x[1].id, y[1].id);
    });
    return {query: category, market: this.market, version: this.version, suggestion: null,
            corrections: [], total: rows.length, hits: rows.slice(0, limit).map(function (r) {
              var f = r[1], place = self.place(f);
              return {id: f.id, title: f.title, url: "/" + self.market + "/" + self.version + "/" + f.url,
                      path: f.url, source: f.source, score: 0, snippet: escapeHtml(f.summary || ""),
                      summary: f.summary || "", audience: f.audience, topic: f.topic,
                      language: f.language, audience_title: place.audience_title,
                      topic_title: place.topic_title};
            })};
  };

  function fetchJson(url) {
    return fetch(url, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) { throw new Error("search bundle: " + r.status + " for " + url); }
      return r.json();
    });
  }

  var engines = {};
  /* The engine of the bundle at ``base`` (a URL ending in "/"), opened once a page. */
  function open(base, fetcher) {
    if (!engines[base]) {
      fetcher = fetcher || fetchJson;
      engines[base] = fetcher(base + "manifest.json").then(function (manifest) {
        return new Engine(base, manifest, fetcher);
      });
      engines[base].catch(function () { delete engines[base]; });
    }
    return engines[base];
  }

  var api = {open: open, Engine: Engine, EngineError: EngineError};
  root.helpgenEngine = api;
  if (typeof module !== "undefined" && module.exports) { module.exports = api; }
})(typeof window !== "undefined" ? window : globalThis);
