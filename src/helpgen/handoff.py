"""The hand-off from the "Submit a ticket" page to a real ticket form.

``deflection.ticket_forms`` names, per audience, the ticket form a draft that still
needs help is sent to, and the query parameters that form prefills its subject and
description from (Zendesk's are ``tf_subject`` and ``tf_description``); a market may
override any of them. The page's script builds the URL with the draft filled in
(:func:`prefill_url` is the same rule in Python); the draft id is never passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Callable
from urllib.parse import quote, urlsplit

#: Zendesk's prefill parameters (``/hc/requests/new?tf_subject=...``).
DEFAULT_SUBJECT_PARAM = "tf_subject"
DEFAULT_DESCRIPTION_PARAM = "tf_description"
#: Longest hand-off URL: browsers and proxies accept more, but 2,000 is safe everywhere.
MAX_URL_CHARS = 2000
#: Subject characters kept (the description gets the rest of the URL).
MAX_SUBJECT_CHARS = 200
FORM_KEYS = ("url", "subject_param", "description_param")


def _form(spec: Any, where: str, bad: Callable[..., None]) -> dict[str, str] | None:
    """One form: a URL, or ``{url, subject_param, description_param}``."""
    if isinstance(spec, str):
        spec = {"url": spec}
    if not isinstance(spec, Mapping):
        bad(f"deflection.ticket_forms: {where} must be a URL or {{url: ..., subject_param: "
            f"..., description_param: ...}}", "deflection", "ticket_forms")
        return None
    unknown = sorted(set(spec) - set(FORM_KEYS) - {"markets"})
    if unknown:
        bad(f"deflection.ticket_forms: {where} has unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(FORM_KEYS)}, markets", "deflection", "ticket_forms")
        return None
    out: dict[str, str] = {}
    for key in FORM_KEYS:
        if key not in spec:
            continue
        value = spec[key]
        if key == "url":
            parts = urlsplit(value) if isinstance(value, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc \
                    or parts.fragment:
                bad(f"deflection.ticket_forms: {where} url must be an absolute http(s) URL "
                    f"without a #fragment, got {value!r}", "deflection", "ticket_forms")
                return None
        elif not isinstance(value, str) or not value.strip() or quote(value, safe="") != value:
            bad(f"deflection.ticket_forms: {where} {key} must be a query parameter name "
                f"such as {DEFAULT_SUBJECT_PARAM}, got {value!r}", "deflection", "ticket_forms")
            return None
        out[key] = value
    return out


def validate(value: Mapping[str, Any], audiences: Mapping[str, Any],
             markets: Mapping[str, Any], bad: Callable[..., None]) -> Mapping[str, Any]:
    """``deflection.ticket_forms``: audience -> form, each with optional ``markets:``
    overrides; every audience and market must be declared, every URL absolute."""
    out: dict[str, Any] = {}
    for audience, spec in value.items():
        if audience not in audiences:
            bad(f"deflection.ticket_forms: unknown audience {audience!r}; allowed: "
                f"{', '.join(audiences) or '(none declared)'}", "deflection", "ticket_forms")
            continue
        form = _form(spec, audience, bad)
        if form is None:
            continue
        if "url" not in form:
            bad(f"deflection.ticket_forms: {audience} needs a url", "deflection", "ticket_forms")
            continue
        overrides: dict[str, dict[str, str]] = {}
        given = spec.get("markets", {}) if isinstance(spec, Mapping) else {}
        if not isinstance(given, Mapping):
            bad(f"deflection.ticket_forms: {audience}.markets must map market codes to "
                "forms", "deflection", "ticket_forms")
            given = {}
        for market, mspec in given.items():
            if market not in markets:
                bad(f"deflection.ticket_forms: {audience}.markets: unknown market "
                    f"{market!r}; allowed: {', '.join(markets)}", "deflection", "ticket_forms")
                continue
            if isinstance(mspec, Mapping) and "markets" in mspec:
                bad(f"deflection.ticket_forms: {audience}.markets.{market} cannot have "
                    "markets of its own", "deflection", "ticket_forms")
                continue
            mform = _form(mspec, f"{audience}.markets.{market}", bad)
            if mform is not None:
                overrides[str(market)] = mform
        form["markets"] = MappingProxyType(overrides)  # type: ignore[assignment]
        out[str(audience)] = MappingProxyType(form)
    return MappingProxyType(out)


def ticket_forms(config: Any, market: str) -> dict[str, dict[str, str]]:
    """The forms of ``market``: audience -> ``{url, subject_param, description_param}``
    (a market's override over the audience's form, Zendesk's parameter names by default)."""
    out: dict[str, dict[str, str]] = {}
    for audience, form in (config.settings.get("deflection.ticket_forms") or {}).items():
        merged = {"subject_param": DEFAULT_SUBJECT_PARAM,
                  "description_param": DEFAULT_DESCRIPTION_PARAM}
        merged.update({k: v for k, v in form.items() if k in FORM_KEYS})
        merged.update(form.get("markets", {}).get(market, {}))
        out[audience] = merged
    return out


def prefill_url(form: Mapping[str, str], subject: str, description: str,
                max_chars: int = MAX_URL_CHARS) -> str:
    """``form``'s URL with the subject and description as its prefill parameters,
    the description cut (ending in "…") so the URL stays within ``max_chars``. The
    page's script (``deflect.js``, ``handoffUrl``) follows the same rule."""
    url = form["url"]
    joiner = "&" if "?" in url else "?"

    def build(desc: str) -> str:
        parts = []
        if subject_text:
            parts.append(f"{form['subject_param']}={quote(subject_text, safe='')}")
        if desc:
            parts.append(f"{form['description_param']}={quote(desc, safe='')}")
        return url + (joiner + "&".join(parts) if parts else "")

    subject_text = subject.strip()[:MAX_SUBJECT_CHARS]
    chars = list(description.strip())
    candidate = build("".join(chars))
    while len(candidate) > max_chars and chars:
        keep = max(0, min(len(chars) - 1, len(chars) * max_chars // len(candidate) - 2))
        chars = chars[:keep]
        candidate = build("".join(chars).rstrip() + "…" if chars else "")
    return candidate
