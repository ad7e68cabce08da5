"""Masking personal data in free text: a corpus of realistic queries and one test per kind.

The corpus is the measure: PII_CORPUS holds strings with personal data and the values that
must not survive, CLEAN_CORPUS strings without any that must come back unchanged. The share
tests print the measured figures (run with ``-s``) and fail below 95%.
"""

from __future__ import annotations

import re

import pytest

from helpgen import privacy
from helpgen.privacy import mask

# (kind, text, values that must all be gone after masking)
PII_CORPUS: list[tuple[str, str, list[str]]] = [
    # e-mail
    ("email", "my email is jo.doe+shop@example.co.uk, please help", ["jo.doe+shop@example.co.uk"]),
    ("email", "order confirmation never arrived at maria.garcia@gmail.com",
     ["maria.garcia@gmail.com"]),
    ("email", "Bitte an max.mustermann@web.de schicken", ["max.mustermann@web.de"]),
    ("email", "メールアドレスtaro.yamada@example.jpに届かない", ["taro.yamada@example.jp"]),
    ("email", "change email from old_name@company.org to new.name@company.org",
     ["old_name@company.org", "new.name@company.org"]),
    ("email", "contact: support-team@shop.example.com", ["support-team@shop.example.com"]),
    ("email", "JANE.SMITH@OUTLOOK.COM can't log in", ["JANE.SMITH@OUTLOOK.COM"]),
    ("email", "ログインできません hanako_1990@docomo.ne.jp", ["hanako_1990@docomo.ne.jp"]),
    # phone
    ("phone", "call me on +1 (415) 555-0199 please", ["+1 (415) 555-0199", "555-0199"]),
    ("phone", "Rückruf bitte unter +49 30 1234567", ["+49 30 1234567", "1234567"]),
    ("phone", "meine Nummer: 0171 5551234", ["0171 5551234", "5551234"]),
    ("phone", "Tel. 030/12345678 ab 14 Uhr", ["030/12345678"]),
    ("phone", "電話番号は090-1234-5678です", ["090-1234-5678", "1234-5678"]),
    ("phone", "+44 20 7946 0958 is my number", ["+44 20 7946 0958", "7946"]),
    ("phone", "UK mobile 07700 900123 no text received", ["07700 900123", "900123"]),
    ("phone", "(555) 123-4567 no reply from support", ["(555) 123-4567", "123-4567"]),
    ("phone", "+81 3-1234-5678 東京オフィス", ["+81 3-1234-5678", "1234-5678"]),
    ("phone", "ring me at 555.123.4567", ["555.123.4567"]),
    ("phone", "携帯 080 1234 5678 に電話して", ["080 1234 5678", "1234 5678"]),
    ("phone", "Telefon +43 1 58800 erreichbar", ["+43 1 58800", "58800"]),
    # IBAN
    ("iban", "IBAN DE89 3704 0044 0532 0130 00 refund", ["DE89 3704 0044 0532 0130 00", "3704"]),
    ("iban", "refund to DE89370400440532013000 please", ["DE89370400440532013000"]),
    ("iban", "Rückerstattung auf GB82 WEST 1234 5698 7654 32", ["GB82 WEST 1234 5698 7654 32",
                                                             "WEST"]),
    ("iban", "my iban: nl91abna0417164300", ["nl91abna0417164300", "abna"]),
    ("iban", "FR14 2004 1010 0505 0001 3M02 606 wrong account",
     ["FR14 2004 1010 0505 0001 3M02 606", "3M02"]),
    ("iban", "Konto AT61 1904 3002 3457 3201 geändert", ["AT61 1904 3002 3457 3201"]),
    ("iban", "ES91 2100 0418 4502 0005 1332 transfer failed", ["ES91 2100 0418 4502 0005 1332"]),
    ("iban", "振込先 CH9300762011623852957", ["CH9300762011623852957"]),
    # card
    ("card", "charged twice on 4111 1111 1111 1111", ["4111 1111 1111 1111", "1111"]),
    ("card", "card 5555555555554444 declined", ["5555555555554444"]),
    ("card", "Amex 3782 822463 10005 not accepted", ["3782 822463 10005", "822463"]),
    ("card", "Karte 4012-8888-8888-1881 abgelehnt", ["4012-8888-8888-1881", "8888"]),
    ("card", "Discover 6011 1111 1111 1117 refund", ["6011 1111 1111 1117"]),
    ("card", "JCBカード3530111333300000が使えない", ["3530111333300000"]),
    ("card", "Mastercard 5105 1051 0510 5100 expired", ["5105 1051 0510 5100", "1051"]),
    # IP
    ("ip", "blocked from 192.168.1.20", ["192.168.1.20"]),
    ("ip", "my IP is 203.0.113.45, banned?", ["203.0.113.45"]),
    ("ip", "login from 10.0.0.1:8080 failed", ["10.0.0.1"]),
    ("ip", "IPv6 2001:db8::8a2e:370:7334 blocked", ["2001:db8::8a2e:370:7334", "8a2e"]),
    ("ip", "access denied for 2001:0db8:85a3:0000:0000:8a2e:0370:7334",
     ["2001:0db8:85a3:0000:0000:8a2e:0370:7334", "85a3"]),
    ("ip", "IPアドレス198.51.100.7からアクセスできない", ["198.51.100.7"]),
    ("ip", "server fe80::1ff:fe23:4567:890a unreachable", ["fe80::1ff:fe23:4567:890a", "fe23"]),
    # credentials
    ("secret", "password: hunter2 doesn't work", ["hunter2"]),
    ("secret", "my password is Tr0ub4dor&3", ["Tr0ub4dor&3"]),
    ("secret", "login failing pw=qwerty123", ["qwerty123"]),
    ("secret", "Passwort: Sommer2024!", ["Sommer2024"]),
    ("secret", "mein Kennwort ist geheim123", ["geheim123"]),
    ("secret", "Passwort lautet 'Katze mit Hut'", ["Katze mit Hut", "Katze"]),
    ("secret", "パスワード：abc12345", ["abc12345"]),
    ("secret", "パスワードはhimitsu99です", ["himitsu99"]),
    ("secret", "api key = sk_live_51Habc", ["sk_live_51Habc"]),
    ("secret", "PIN: 4821", ["4821"]),
    ("secret", "my password is swordfish and it fails", ["swordfish"]),
    # addresses
    ("address", "ship to 1600 Amphitheatre Parkway, Mountain View, CA 94043",
     ["1600 Amphitheatre Parkway", "Amphitheatre", "94043"]),
    ("address", "221B Baker Street, London NW1 6XE", ["221B Baker Street", "Baker", "NW1 6XE"]),
    ("address", "deliver to 742 Evergreen Terrace, Springfield", ["742 Evergreen Terrace",
                                                                 "Evergreen"]),
    ("address", "new address 350 5th Ave, Apt 12B, New York, NY 10118",
     ["350 5th Ave", "12B", "10118"]),
    ("address", "10 Downing Street, London SW1A 2AA", ["10 Downing Street", "Downing",
                                                       "SW1A 2AA"]),
    ("address", "postcode EC1A 1BB wrong on label", ["EC1A 1BB"]),
    ("address", "Flat 3, 25 Acacia Avenue, Leeds LS1 4AP", ["25 Acacia Avenue", "Acacia",
                                                            "LS1 4AP"]),
    ("address", "Hauptstraße 5, 10115 Berlin", ["Hauptstraße 5", "10115"]),
    ("address", "Lieferadresse Musterstr. 12 stimmt nicht", ["Musterstr. 12", "Musterstr"]),
    ("address", "neue Adresse: Karl-Marx-Allee 90a, 10243 Berlin", ["Karl-Marx-Allee 90a",
                                                                    "10243"]),
    ("address", "Berliner Straße 17, 60311 Frankfurt am Main", ["Berliner Straße 17", "60311"]),
    ("address", "住所は東京都千代田区千代田1-1です", ["東京都千代田区千代田1-1", "千代田1-1"]),
    ("address", "〒100-0001 に届かない", ["100-0001"]),
    ("address", "大阪府大阪市北区梅田3-1-1に配送", ["梅田3-1-1"]),
    ("address", "渋谷区神南1丁目2番3号の荷物", ["神南1丁目2番3号"]),
    # order and tracking numbers
    ("number", "order 576123456789012 never arrived", ["576123456789012"]),
    ("number", "tracking 1Z999AA10123456784 stuck", ["1Z999AA10123456784"]),
    ("number", "Sendungsnummer 00340434161234567890", ["00340434161234567890"]),
    ("number", "追跡番号 RR123456785JP", ["RR123456785JP"]),
    ("number", "order #5761234 where is it", ["5761234"]),
    # written after the rules above, measured before any tuning (all masked on first run)
    ("email", "pls reply to a.b-c@sub.mail-server.io thanks", ["a.b-c@sub.mail-server.io"]),
    ("email", "Meine E-Mail lautet peter.schmidt@t-online.de", ["peter.schmidt@t-online.de"]),
    ("email", "problem with billing (kim@startup.ai)", ["kim@startup.ai"]),
    ("phone", "my phone is 212-555-0147", ["212-555-0147"]),
    ("phone", "Handy: 0151 23456789", ["0151 23456789"]),
    ("phone", "tel +33 1 42 68 53 00 Paris", ["+33 1 42 68 53 00"]),
    ("phone", "お問い合わせ 03-1234-5678 まで", ["03-1234-5678"]),
    ("phone", "call 1-800-555-0123 toll free", ["1-800-555-0123"]),
    ("phone", "+49 (0)89 1234567 Rückruf", ["+49 (0)89 1234567", "1234567"]),
    ("iban", "IBAN: BE68 5390 0754 7034", ["BE68 5390 0754 7034"]),
    ("iban", "überweisung an IT60X0542811101000000123456", ["IT60X0542811101000000123456"]),
    ("iban", "pay to PL61 1090 1014 0000 0712 1981 2874", ["PL61 1090 1014 0000 0712 1981 2874"]),
    ("card", "visa 4000 0566 5566 5556 was charged", ["4000 0566 5566 5556"]),
    ("card", "カード番号4242424242424242", ["4242424242424242"]),
    ("card", "my card 3714-496353-98431 amex", ["3714-496353-98431"]),
    ("ip", "requests from 172.16.254.1 time out", ["172.16.254.1"]),
    ("ip", "IP: 8.8.8.8", ["8.8.8.8"]),
    ("ip", "my ipv6 is 2a02:8108:1234:5678::1", ["2a02:8108:1234:5678::1"]),
    ("secret", "username bob password=letmein", ["letmein"]),
    ("secret", "Passwort ist Blume#77", ["Blume#77"]),
    ("secret", "password was hello123 and now locked", ["hello123"]),
    ("secret", "パスワード: Tokyo2026", ["Tokyo2026"]),
    ("secret", "my pwd: x9!kq", ["x9!kq"]),
    ("address", "send to 500 Oracle Pkwy, Redwood City, CA 94065", ["500 Oracle Pkwy", "94065"]),
    ("address", "address: 4 Privet Drive, Little Whinging", ["4 Privet Drive", "Privet"]),
    ("address", "Lieferung an Goethestraße 22, 80336 München", ["Goethestraße 22", "80336"]),
    ("address", "Bahnhofstr. 3a bitte", ["Bahnhofstr. 3a"]),
    ("address", "Manchester M1 1AE delivery failed", ["M1 1AE"]),
    ("address", "神奈川県横浜市中区山下町1-2-3", ["山下町1-2-3"]),
    ("number", "tracking number 9400111899223344556677", ["9400111899223344556677"]),
    # hard cases: the first two are caught by the bare "password <value>" rule; the last
    # three are known misses (no digits or keywords to anchor on), kept to keep the share honest
    ("secret", "my password hunter2 fails", ["hunter2"]),
    ("secret", "my login is jsmith, password Winter2025", ["Winter2025"]),
    ("email", "email jo at example dot com", ["jo at example dot com"]),
    ("address", "Unter den Linden 77, 10117 Berlin", ["Unter den Linden 77", "10117"]),
    ("address", "1-1 Chiyoda, Chiyoda-ku, Tokyo 100-8111", ["1-1 Chiyoda", "100-8111"]),
    # mixed
    ("mixed", "I'm jo@x.io, +49 170 1234567, IBAN DE89 3704 0044 0532 0130 00",
     ["jo@x.io", "1234567", "3704"]),
    ("mixed", "user 10.1.2.3 with password: p@ss w0rd", ["10.1.2.3", "p@ss"]),
]

CLEAN_CORPUS: list[str] = [
    "delivered on 2026-11-25",
    "Lieferung am 25.11.2026",
    "refund before 11/25/2026",
    "return within 48 hours",
    "3 days shipping",
    "refund $25.00 missing",
    "Rückerstattung 19,99 € fehlt",
    "price 1,299.00",
    "ticket 12345 rejected",
    "I have 3 orders and 12 items",
    "how to submit-a-ticket",
    "message-the-seller not working",
    "version 2026.11 release notes",
    "what changed in 2026.11.2",
    "password reset email not arriving",
    "my password is not accepted",
    "Passwort vergessen",
    "Passwort ist abgelaufen",
    "パスワードを忘れました",
    "パスワードが間違っています",
    "change my email address",
    "update phone number",
    "IBAN ändern",
    "where to enter credit card",
    "IP address blocked",
    "street address format",
    "delivery 9:00 to 17:00",
    "refund after 90 days",
    "orders over €50 ship free",
    "14 Tage Rückgaberecht",
    "30日以内に返品",
    "2026年11月25日に届く予定",
    "top 10 return reasons",
    "error 500 on checkout",
    "error code 0x80070005",
    "iOS 17.4.1 app crash",
    "cancel order",
    "Bestellung stornieren",
    "注文をキャンセルしたい",
    "shipping to Canada",
    "Dec 24 delivery",
    "1 of 2 packages missing",
    "account locked after 5 attempts",
    "2 factor authentication code not received",
    "how to change the PIN",
    "pin is wrong",
    "buy 2 get 1 free",
    "¥3,000 coupon",
    "3000円のクーポン",
    "Versand dauert 2-3 Werktage",
    "return-refund policy for 2026.11",
    "order 3 items from the same seller",
    "what is the token limit",
    "Lieferung 24.12. möglich?",
    # written after the rules above, measured before any tuning (all unchanged on first run)
    "can I return after 30 days",
    "delivery 2026-12-03 missed",
    "Zustellung 03.12.2026",
    "price $9.99",
    "Versandkosten 4,95 €",
    "2 packages, 1 arrived",
    "order number where to find",
    "how-to-reset-password",
    "release 2026.12",
    "wait 24 hours",
    "7 day trial",
    "Konto löschen",
    "メールアドレスを変更したい",
    "change password",
    "the password is too short",
    "refund 50%",
    "page 3",
    "error 403 forbidden",
    "Android 14 app",
    "sale ends 12/31/2026",
    # near misses for the address and password rules
    "I paid 2 times for 1 order on Main Street",
    "ordered 12 Gift Cards",
    "order from the 5th Avenue store",
    "password 2fa setup",
    "Passwort 3 mal falsch",
    "password reset for user123",
]


def _leaks(text: str, values: list[str]) -> list[str]:
    """The values (and digit-bearing pieces of 3+ characters of them) still in ``text``."""
    masked = mask(text)
    leaked = []
    for value in values:
        pieces = [value, *(p for p in re.findall(r"[0-9A-Za-z]{3,}", value)
                           if any(c.isdigit() for c in p))]
        leaked.extend(p for p in pieces if p in masked)
    return leaked


def test_pii_corpus_is_at_least_95_percent_masked():
    assert len(PII_CORPUS) >= 60
    kinds = {kind for kind, _, _ in PII_CORPUS}
    assert {"email", "phone", "iban", "card", "ip", "secret", "address", "number"} <= kinds
    misses = [(text, mask(text), leaks) for _, text, values in PII_CORPUS
              if (leaks := _leaks(text, values))]
    share = 1 - len(misses) / len(PII_CORPUS)
    print(f"\nPII strings fully masked: {len(PII_CORPUS) - len(misses)}/{len(PII_CORPUS)} "
          f"= {share:.1%}")
    for text, masked, leaks in misses:
        print(f"  miss: {text!r} -> {masked!r} (left: {leaks})")
    assert share >= 0.95, misses


def test_clean_corpus_is_at_least_95_percent_unchanged():
    assert len(CLEAN_CORPUS) >= 40
    changed = [(text, mask(text)) for text in CLEAN_CORPUS if mask(text) != text]
    share = 1 - len(changed) / len(CLEAN_CORPUS)
    print(f"\nPII-free strings unchanged: {len(CLEAN_CORPUS) - len(changed)}/"
          f"{len(CLEAN_CORPUS)} = {share:.1%}")
    for text, masked in changed:
        print(f"  changed: {text!r} -> {masked!r}")
    assert share >= 0.95, changed


@pytest.mark.parametrize("kind, placeholder", [
    ("email", "[email]"), ("phone", "[phone]"), ("iban", "[iban]"), ("card", "[card]"),
    ("ip", "[ip]"), ("secret", "[secret]"), ("address", "[address]"), ("number", "[number]"),
])
def test_each_kind_is_masked_with_its_placeholder(kind, placeholder):
    cases = [(text, values) for k, text, values in PII_CORPUS if k == kind]
    assert len(cases) >= 5
    with_placeholder = [text for text, _ in cases if placeholder in mask(text)]
    clean = [text for text, values in cases if not _leaks(text, values)]
    print(f"\n{kind}: {len(clean)}/{len(cases)} masked, {len(with_placeholder)} as {placeholder}")
    # every kind on its own: at least 90% masked, with its own placeholder
    assert len(with_placeholder) >= 0.9 * len(cases), [mask(t) for t, _ in cases]
    assert len(clean) >= 0.9 * len(cases), [mask(t) for t, _ in cases]


@pytest.mark.parametrize("text, expected", [
    ("password: hunter2 doesn't work", "password: [secret] doesn't work"),
    ("Passwort: Sommer2024!", "Passwort: [secret]!"),
    ("mein Kennwort ist geheim123", "mein Kennwort ist [secret]"),
    ("パスワードはhimitsu99です", "パスワードは[secret]です"),
    ("パスワード：ひみつのことば", "パスワード：[secret]"),
    ("login failing pw=qwerty123", "login failing pw=[secret]"),
])
def test_credentials_keep_the_keyword_and_lose_the_value(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "my password is not accepted", "password reset", "Passwort ist abgelaufen",
    "パスワードを忘れました", "the PIN is wrong",
])
def test_talking_about_a_password_is_not_a_secret(text):
    assert mask(text) == text


def test_iban_needs_a_valid_check_and_a_known_country_length():
    assert privacy.iban_valid("DE89 3704 0044 0532 0130 00")
    assert privacy.iban_valid("gb82west12345698765432")
    assert not privacy.iban_valid("DE88 3704 0044 0532 0130 00")  # check digits off
    assert not privacy.iban_valid("DE89 3704 0044 0532 0130 0")  # one short
    assert not privacy.iban_valid("ZZ89 3704 0044 0532 0130 00")  # no such country
    assert mask("IBAN DE89 3704 0044 0532 0130 00 bitte") == "IBAN [iban] bitte"


def test_card_numbers_need_the_luhn_check():
    assert mask("card 4111 1111 1111 1111") == "card [card]"
    # fails Luhn: not called a card, but still masked as a long grouped number
    assert mask("card 4111 1111 1111 1112") == "card [number]"
    assert privacy.luhn_valid("79927398713") and not privacy.luhn_valid("79927398710")


@pytest.mark.parametrize("text, expected", [
    ("from 192.168.1.20.", "from [ip]."),
    ("from 10.0.0.1:8080", "from [ip]"),
    ("net 192.168.0.0/16", "net [ip]"),
    ("v6 ::1 loopback", "v6 [ip] loopback"),
    ("v6 [2001:db8::1]:443 down", "v6 [ip] down"),
    ("at 10:30:00 today", "at 10:30:00 today"),
    ("not an ip 999.1.1.1", "not an ip 999.1.1.1"),
])
def test_ip_addresses_are_validated(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "+49 30 1234567", "(555) 123-4567", "090-1234-5678", "+44 20 7946 0958",
    "+1-800-555-0199", "0049 89 12345678",
])
def test_international_phone_formats(text):
    assert mask(f"call {text} now") == "call [phone] now"


@pytest.mark.parametrize("text", [
    "1600 Amphitheatre Parkway", "221B Baker Street", "SW1A 1AA", "Hauptstraße 5, 10115 Berlin",
    "Musterstr. 12", "東京都千代田区千代田1-1", "〒100-0001", "12 Oak St.",
])
def test_street_address_formats(text):
    assert mask(f"to {text} now") == "to [address] now"


@pytest.mark.parametrize("text", [
    "2026-11-25", "25.11.2026", "11/25/2026", "48 hours", "3 days", "$25.00", "19,99 €",
    "submit-a-ticket", "2026.11", "12 items", "10:30",
])
def test_dates_durations_amounts_ids_and_versions_are_kept(text):
    assert mask(f"about {text} please") == f"about {text} please"


def test_truncates_never_inside_a_placeholder_and_drops_control_characters():
    masked = mask("a\x00b\nc " + "x" * 500, max_chars=40)
    assert len(masked) <= 40
    assert "\x00" not in masked and "\n" not in masked
    assert mask("help " + "x" * 20 + " jo.doe@example.com", max_chars=30) == "help " + "x" * 20
    assert mask("help " + "x" * 20 + " jo.doe@example.com", max_chars=33) == \
        "help " + "x" * 20 + " [email]"
    assert mask("x" * 10_000_000, max_chars=20) == "x" * 20


def test_mask_is_pure_and_idempotent():
    for _, text, _values in PII_CORPUS:
        once = mask(text)
        assert mask(text) == once
        assert mask(once) == once
