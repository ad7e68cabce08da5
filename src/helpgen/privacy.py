"""Personal data out of free text: :func:`mask` replaces it with placeholders.

Search queries are the only free text helpgen stores (in the events file), and people
type anything into a search box: their e-mail address, a phone number, an IBAN, a card
number, a password, their street address. :func:`mask` is a pure function that replaces
each of these with a placeholder and keeps what makes a query useful for reports: words,
dates, durations, amounts, small counts, article ids and version names.

How it works, in order (earlier rules see the raw text, so a password containing an
``@`` is a secret, not an e-mail address):

1. control characters become spaces; credentials (``password: ...``, ``pw=...``,
   ``Kennwort ist ...``, ``パスワード：...``) keep their keyword and lose their value;
2. e-mail addresses, IPv4/IPv6 addresses (checked with :mod:`ipaddress`), IBANs (known
   country, length and the mod-97 check), card numbers (13-19 digits, Luhn check);
3. dates, times, amounts, versions and hex codes are set aside so later rules cannot
   take them for numbers;
4. street addresses (US/UK number + street + suffix, UK postcodes, German ``...straße 5``
   with an optional postcode and town, Japanese ``〒`` codes and ``...区...1-1``), phone
   numbers (7-15 digits with ``+`` or separators), tracking codes, grouped digit runs of
   12 or more digits and any other run of 6 or more digits.

Placeholders: ``[email]``, ``[phone]``, ``[iban]``, ``[card]``, ``[ip]``, ``[secret]``,
``[address]``, ``[number]``. Masking is heuristic: ``tests/test_privacy.py`` holds a
corpus of PII and PII-free strings and asserts the shares (see benchmarks/README.md).
"""

from __future__ import annotations

import ipaddress
import re
from types import MappingProxyType
from typing import Callable, Mapping

PLACEHOLDERS = ("[email]", "[phone]", "[iban]", "[card]", "[ip]", "[secret]", "[address]",
                "[number]")

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")

# ---- credentials: keyword, separator, value ------------------------------------------
_SECRET_WORDS = (r"pass(?:word|wort|wd|code|phrase)?|pwd?|kennwort|zugangs(?:code|daten)"
                 r"|pin(?:[ -]?code)?|api[ _-]?key|access[ _-]?token|token|secret")
_SECRET_RE = re.compile(
    r"(?<![A-Za-z0-9_-])(?P<key>(?:" + _SECRET_WORDS + r"))"
    r"(?P<sep>(?:\s*(?:[:=：＝]|\bis\b|\bist\b|\blautet\b|\bwas\b|\bwar\b|\bwäre\b)\s*)+)"
    r"(?P<value>[\"'“„‚«「][^\"'”“«»「」]{1,80}[\"'”“»」]|[^\s,;]+)",
    re.I,
)
# "password Winter2025": no separator, so the value must look like one (letters and digits)
_BARE_SECRET_RE = re.compile(
    r"(?<![A-Za-z0-9_-])(?P<key>pass(?:word|wort|wd)|pwd|kennwort|pin)(?P<sep>\s+)"
    r"(?P<value>(?=\S*[0-9])(?=\S*[A-Za-z])[^\s,;]{4,}|[0-9]{4,})", re.I)
_JA_SECRET_RE = re.compile(
    r"(?P<key>パスワード|パスコード|暗証番号|ＰＷ|ログインID)"
    r"(?P<sep>\s*(?:[:：=＝]\s*(?=\S)|(?:は|が)\s*(?=[!-~])))"
    r"(?P<value>[「『][^」』]{1,80}[」』]|[!-~]+|[^\s。、]+)"
)
# a word after "is"/"ist" that says something about the password, not the password
_NOT_SECRETS = frozenset("""
    not no now still always never wrong incorrect invalid correct right too very being
    expired rejected locked blocked reset changed required missing empty case sensitive
    the a an my your this that it there here gone lost forgotten working accepted ok
    nicht kein keine falsch richtig abgelaufen gesperrt ungültig zu sehr immer noch schon
    vergessen weg leer geändert zurückgesetzt korrekt erforderlich
""".split())
_TRAILING_PUNCT = ".,;:!?)]}>"


def _secret(m: re.Match[str]) -> str:
    value = m.group("value")
    if value.startswith(PLACEHOLDERS):  # already masked
        return m.group(0)
    if value[:1].isalpha() and value.rstrip(_TRAILING_PUNCT).lower() in _NOT_SECRETS \
            and not any(c in m.group("sep") for c in ":=：＝"):
        return m.group(0)
    tail = ""
    if value[:1] not in "\"'“„‚«「『":
        stripped = value.rstrip(_TRAILING_PUNCT)
        tail = value[len(stripped):] if stripped else ""
        if stripped.endswith("です"):
            stripped, tail = stripped[:-2], "です" + tail
        if not stripped:
            return m.group(0)
    return f"{m.group('key')}{m.group('sep')}[secret]{tail}"


# ---- e-mail, IP, IBAN, card -------------------------------------------------------------
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_IPV4_RE = re.compile(
    r"(?<![0-9A-Za-z.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
    r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?:/\d{1,2}|:\d{1,5})?(?![0-9A-Za-z]|\.\d)")
_IPV6_RE = re.compile(
    r"(?<![0-9A-Za-z:.])\[?(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?"
    r"(?:%[\w.]+)?\]?(?::\d{1,5})?(?:/\d{1,3})?(?![0-9A-Za-z:])")

#: IBAN length per country (ISO 13616 registry); only these countries are recognised.
IBAN_LENGTHS: Mapping[str, int] = MappingProxyType({
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30,
    "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
})
_IBAN_RE = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,30}")
_CARD_RE = re.compile(r"(?<![0-9A-Za-z])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z])")


def _ip(m: re.Match[str]) -> str:
    found = m.group(0)
    core = found.strip("[]")
    core = re.sub(r"\]?:\d{1,5}$", "", core) if found.startswith("[") else core
    core = core.split("/")[0].split("%")[0].strip("[]")
    try:
        ipaddress.ip_address(core)
    except ValueError:
        return found
    return "[ip]"


def iban_valid(text: str) -> bool:
    """True for an IBAN (spaces allowed) of a known country, length and mod-97 check."""
    code = re.sub(r"[ -]", "", text).upper()
    if IBAN_LENGTHS.get(code[:2]) != len(code) or not code[2:4].isdigit():
        return False
    digits = "".join(str(int(c, 36)) for c in code[4:] + code[:4])
    return int(digits) % 97 == 1


def _iban_span(text: str, start: int, end: int) -> int | None:
    """The end of a valid IBAN starting at ``start`` within ``text[start:end]``."""
    length = IBAN_LENGTHS.get(text[start:start + 2].upper())
    if length is None:
        return None
    count = 0
    for i in range(start, end):
        if text[i].isalnum():
            count += 1
            if count == length:
                after = text[i + 1:i + 2]
                if not (after.isalnum()) and iban_valid(text[start:i + 1]):
                    return i + 1
                return None
    return None


def _mask_ibans(text: str) -> str:
    out, pos = [], 0
    for m in _IBAN_RE.finditer(text):
        if m.start() < pos:
            continue
        stop = _iban_span(text, m.start(), m.end())
        if stop is not None:
            out.append(text[pos:m.start()] + "[iban]")
            pos = stop
    out.append(text[pos:])
    return "".join(out)


def luhn_valid(digits: str) -> bool:
    """The Luhn check digit test card numbers pass."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _card(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return "[card]" if 13 <= len(digits) <= 19 and luhn_valid(digits) else m.group(0)


# ---- kept: set aside before the number rules --------------------------------------------
_MONTHS = (r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|januar|februar|märz|"
           r"mai|juni|juli|okt|dez)[a-z]*\.?")
_KEEP_RE = re.compile("|".join((
    r"(?<![\d.])\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?(?![\d])",
    r"(?<![\d.])\d{4}/\d{1,2}/\d{1,2}(?![\d/])",
    r"(?<![\d.])(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.(?:\d{4}|\d{2})(?![\d])",
    r"(?<![\d/])\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})(?![\d/])",
    r"(?<![\d-])(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])-\d{4}(?![\d-])",
    r"\d{4}年\d{1,2}月(?:\d{1,2}日)?",
    r"(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])",
    r"(?i:\b\d{1,2}(?:st|nd|rd|th)?\.?\s+" + _MONTHS + r"(?:\s+\d{4})?)",
    r"(?i:\b" + _MONTHS + r"\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?)",
    r"[$€£¥]\s?\d{1,3}(?:[,.\s]\d{3})*(?:[.,]\d{1,2})?",
    r"(?<![\d.,])\d{1,3}(?:[.,\s]\d{3})*(?:[.,]\d{1,2})?\s?(?i:€|EUR|USD|GBP|JPY|CHF|円|ドル"
    r"|dollars?|euros?)(?![a-z])",
    r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?(?![\d,])",
    r"(?<![\d.,])\d{1,3}(?:\.\d{3})+,\d{1,2}(?![\d,])",
    r"(?<![\w.])v?\d{4}\.\d{1,2}(?:\.\d{1,3})?(?![\d.]|\.\d)",
    r"(?<![\w.])v?\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.]|\.\d)",
    r"\b0x[0-9A-Fa-f]+\b",
)))

# ---- street addresses ----------------------------------------------------------------------
_STREET_SUFFIX = (r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|"
                  r"parkway|pkwy|place|pl|way|terrace|circle|cir|highway|hwy|square|sq|close|"
                  r"crescent|gardens|grove|mews|row|hill|walk|loop")
_UK_POSTCODE = r"(?:GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})"
_US_ADDRESS_RE = re.compile(
    r"(?<![\w.,])\d{1,6}[A-Za-z]?(?:-\d{1,4})?\s+(?:[NSEW]\.?\s+)?"
    r"(?:(?!(?:and|or|to|in|on|of|for|from|the|my|items?|orders?|days?|hours?)\b)"
    r"\d{0,3}[A-Za-z][A-Za-z'-]*\.?\s+){1,3}"
    r"(?i:" + _STREET_SUFFIX + r")\b\.?"
    r"(?:,?\s*(?i:apt|apartment|suite|ste|unit|flat|#)\.?\s*#?\w{1,6})?"
    r"(?:,\s*[A-Z][a-z.]+(?:\s[A-Z][a-z.]+){0,2}"
    r"(?:,?\s*(?:[A-Z]{2}\s+\d{5}(?:-\d{4})?|" + _UK_POSTCODE + r"))?)?"
    r"(?:,?\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?)?")
_UK_POSTCODE_RE = re.compile(r"(?<![\w])" + _UK_POSTCODE + r"(?![\w])")
_US_ZIP_RE = re.compile(
    r"(?<![\w])(?:A[LKZR]|C[AOT]|DE|FL|GA|HI|I[DLNA]|K[SY]|LA|M[EDAINSOT]|N[EVHJMYCD]|"
    r"O[HKR]|PA|RI|S[CD]|T[NX]|UT|V[TA]|W[AVIY]|DC)\s+\d{5}(?:-\d{4})?(?![\w])")
_DE_STREET = (r"(?:[A-ZÄÖÜ][\wäöüß.-]*(?i:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm"
              r"|ufer|chaussee|steig|pfad|markt)"
              r"|(?:[A-ZÄÖÜ][\wäöüß-]*\s)+(?:Straße|Strasse|Str\.|Weg|Gasse|Platz|Allee|Ring"
              r"|Damm|Ufer|Chaussee|Markt))")
_DE_ADDRESS_RE = re.compile(
    r"(?<![\w])" + _DE_STREET + r"\s*\d{1,4}\s?[a-zA-Z]?(?:\s?[-/]\s?\d{1,4}[a-z]?)?(?![\w])"
    r"(?:,?\s*(?:D-)?\d{5}\s+[A-ZÄÖÜ][\wäöüß-]+(?:\s(?:am|an der|im)\s[A-ZÄÖÜ][\wäöüß]+)?)?")
_DE_POSTCODE_RE = re.compile(r"(?i:\bPLZ\b:?\s*)\d{5}(?:\s+[A-ZÄÖÜ][\wäöüß-]+)?")
_JP_POSTAL_RE = re.compile(r"〒\s*[0-9０-９]{3}\s*[-－‐ー−]?\s*[0-9０-９]{4}")
_JP_ADDRESS_RE = re.compile(
    r"(?:(?:東京都|北海道|京都府|大阪府|[\u4e00-\u9fff]{2,3}県))?"
    r"[\u4e00-\u9fff\u3041-\u309f\u30a1-\u30ff]{0,10}?[市区町村郡]"
    r"[\u4e00-\u9fff\u3041-\u309f\u30a1-\u30ff]{0,12}?"
    r"[0-9０-９]{1,4}(?:\s*(?:丁目|番地|番|号|[-－‐ー−の])\s*[0-9０-９]{0,4})+(?:号)?")

# ---- phones and numbers ---------------------------------------------------------------------
_PHONE_RE = re.compile(
    r"(?<![0-9A-Za-z+])(?:\+|00)?\(?\d{1,5}\)?(?:\s?[ ./\-－]?\s?\(?\d{1,5}\)?){1,6}"
    r"(?![0-9A-Za-z])")
_TRACKING_RE = re.compile(r"(?<![0-9A-Za-z])(?=[A-Z0-9]*[A-Z])(?=(?:[A-Z]*\d){6})[A-Z0-9]{10,30}"
                          r"(?![0-9A-Za-z])")
_GROUPED_DIGITS_RE = re.compile(r"(?<![0-9A-Za-z])\d{2,8}(?:[ -]\d{2,8}){2,}(?![0-9A-Za-z])")
_DIGITS_RE = re.compile(r"\d{6,}")


def _phone(m: re.Match[str]) -> str:
    """A phone number has 7-15 digits and a '+' (or 00) or a separator."""
    found = m.group(0)
    digits = sum(c.isdigit() for c in found)
    separated = found.startswith(("+", "00")) or any(c in found for c in " ./-()－")
    if 7 <= digits <= 15 and separated:
        return "[phone]"
    return found


def _grouped(m: re.Match[str]) -> str:
    return "[number]" if sum(c.isdigit() for c in m.group(0)) >= 12 else m.group(0)


_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_JP_POSTAL_RE, "[address]"),
    (_US_ADDRESS_RE, "[address]"),
    (_DE_ADDRESS_RE, "[address]"),
    (_DE_POSTCODE_RE, "[address]"),
    (_JP_ADDRESS_RE, "[address]"),
    (_UK_POSTCODE_RE, "[address]"),
    (_US_ZIP_RE, "[address]"),
    (_PHONE_RE, _phone),
    (_TRACKING_RE, "[number]"),
    (_GROUPED_DIGITS_RE, _grouped),
    (_DIGITS_RE, "[number]"),
)
_SENTINEL_RE = re.compile("\ue000([\ue100-\uf8ff])\ue001")


def _set_aside(text: str) -> tuple[str, list[str]]:
    kept: list[str] = []

    def keep(m: re.Match[str]) -> str:
        if len(kept) >= 0xF8FF - 0xE100:
            return m.group(0)
        kept.append(m.group(0))
        return "\ue000" + chr(0xE100 + len(kept) - 1) + "\ue001"

    return _KEEP_RE.sub(keep, text), kept


def _restore(text: str, kept: list[str]) -> str:
    return _SENTINEL_RE.sub(lambda m: kept[ord(m.group(1)) - 0xE100], text)


def _truncate(text: str, max_chars: int) -> str:
    cut = text[:max_chars]
    opened = cut.rfind("[")
    if opened != -1 and "]" not in cut[opened:] and text.startswith(PLACEHOLDERS, opened):
        cut = cut[:opened]  # never leave half a placeholder
    return cut.rstrip()


def mask(text: str, max_chars: int = 100) -> str:
    """``text`` with personal data replaced by placeholders, whitespace collapsed, cut to
    ``max_chars`` characters (never inside a placeholder).

    Pure: the same text always gives the same result. Only the first
    ``max_chars * 10 + 1000`` characters are examined, so a huge input costs bounded time.
    """
    text = str(text)[:max(max_chars, 0) * 10 + 1000]
    text = _CONTROL_RE.sub(" ", text).replace("\ue000", "").replace("\ue001", "")
    text = _SECRET_RE.sub(_secret, text)
    text = _BARE_SECRET_RE.sub(_secret, text)
    text = _JA_SECRET_RE.sub(_secret, text)
    text = _EMAIL_RE.sub("[email]", text)
    text = _IPV6_RE.sub(_ip, text)
    text = _IPV4_RE.sub("[ip]", text)  # the pattern itself checks each octet
    text = _mask_ibans(text)
    text = _CARD_RE.sub(_card, text)
    text, kept = _set_aside(text)
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    text = _restore(text, kept)
    text = " ".join(text.split())
    return _truncate(text, max_chars)
