"""Every fact of the seed documents is findable on every market's site.

Each entry is one fact from ../shared/seeds/ as a pattern over the whole rendered text of a
market (all its pages, in the market's language where a translation exists). Patterns allow
the German and Japanese wording where a translated article carries the fact, so a
translation that drops a number or a menu label fails here for that market.
"""

from __future__ import annotations

import re

import pytest

from helpgen import config as config_mod
from helpgen import content, render

from projectkit import REPO

DE_JA = r"(?:business hours|Geschäftsstunden|営業時間)"
FACTS: dict[str, str] = {
    # 000: tickets through the partner console, response times
    "help center at the bottom of the left navigation":
        r"bottom of the left|linken Navigationsleiste ganz unten|左側のナビゲーションパネルの一番下",
    "View my tickets": r"View my tickets",
    "TikTok Shop Partner banner":
        r"TikTok Shop Partner\W{0,4}(?:banner|バナー)|[Bb]anner\W{0,4}TikTok Shop Partner",
    "Submit a Ticket from the banner": r"Submit a Ticket",
    "Support tickets page": r"Support tickets",
    "Submit a ticket in the upper right": r"upper[- ]right",
    "issue subject and category": r"subject and category|Betreff und die Kategorie|件名とカテゴリ",
    "confirmation after submitting": r"confirmation|Bestätigung|確認",
    "initial response within 24 business hours": rf"24 {DE_JA}|24\s*{DE_JA}",
    "resolution target within 48 business hours": rf"48 {DE_JA}|48\s*{DE_JA}",
    # 001: which seller support channel
    "help center examples: return window": r"return window",
    "help center examples: tax ID": r"tax ID",
    "help center examples: process a refund": r"process a refund",
    "help center path": r"Profile > Help & Support > Help Center",
    "chat support path": r"Contact TikTok > Chat with us",
    "chat support: payout failures": r"payout failures",
    "chat support: order discrepancies": r"order discrepancies",
    "community: webinars": r"webinars",
    "community: Tiko virtual AI assistant 24/7": r"Tiko",
    "community: 24/7": r"24/7|any time of day|around the clock",
    "community: Office Hours": r"Office Hours",
    "community: account managers for select sellers": r"account manager|\bAM\b",
    "community: TikTokShop Academy": r"TikTokShop Academy",
    "community: Seller Community": r"Seller Community",
    # 002: partner registration
    "partner types CAP MCN TAP TSP": r"CAP.{0,200}MCN.{0,200}TAP.{0,200}TSP",
    "developer guide (plain text)": r"developer guide",
    "platforms merged in late 2022": r"late 2022",
    "phone number optional": r"optional",
    "email is the primary channel": r"email",
    "Start Business": r"Start Business",
    "Get Started": r"Get Started",
    "Registration Region": r"[Rr]egistration [Rr]egion",
    "cross-border: China and Hong Kong, China": r"Hong Kong, China",
    "bulk registration up to 4 categories": r"up to 4|up to four",
    "developer: get app key now": r"get app key now",
    "status page": r"My Account >> My category & market",
    "rejected: Modify": r"Modify",
    "Add Category & Market": r"Add Category & Market",
    "statuses": r"Approved.{0,400}Not approved|Not approved.{0,400}Approved",
    "status Pending": r"Pending",
    "multi-role: top navigation bar": r"top navigation bar",
    "single-column menu": r"single-column",
    "account management path": r"My Account >> Profile",
    "verification code": r"verification code",
    # 003: buyers
    "Your orders": r"Your orders",
    "Get Help button": r"Get Help",
    "Contact us": r"Contact us",
    "Chat with Live Agent": r"Chat with Live Agent",
    "Send message": r"Send message",
    "Live Chat / Submit a Ticket on some platforms": r"Live Chat",
    "30-calendar-day return window": r"30 (?:calendar days|Kalendertage|暦日)|30-calendar-day",
    "90 calendar days from Delivered": r"90 (?:calendar days|Kalendertage|暦日)",
    "Delivered status": r"Delivered",
    "Order details page": r"Order details",
    "18 or older to purchase": r"18",
}


@pytest.fixture(scope="module")
def market_texts() -> dict[str, str]:
    cfg = config_mod.load(REPO)
    corpus = content.load(cfg)
    return {
        code: "\n".join(p.markdown for p in
                        render.render_market(corpus, cfg, market, cfg.version).pages.values())
        for code, market in cfg.markets.items()
    }


@pytest.mark.parametrize("fact", sorted(FACTS))
def test_seed_fact_is_on_every_market_site(fact, market_texts):
    pattern = re.compile(FACTS[fact], re.S)
    missing = [code for code, text in market_texts.items() if not pattern.search(text)]
    assert missing == [], f"{fact!r} not findable on: {', '.join(missing)}"


def test_signup_address_matches_the_market(market_texts):
    for code, text in market_texts.items():
        us = "https://partner.us.tiktokshop.com/account/sign-up" in text
        glob = "https://partner.tiktokshop.com/account/sign-up" in text
        assert (us, glob) == ((True, False) if code == "us" else (False, True)), code


def test_no_mojibake_or_remote_images(market_texts):
    for code, text in market_texts.items():
        assert "ðŸ" not in text and "Ã" not in text, code
        assert not re.search(r"!\[[^\]]*\]\(https?://", text), code
