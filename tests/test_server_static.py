"""Static files (helpgen.server.static, .caches, .security): the WSGI app in-process
over a real built site."""

from __future__ import annotations

import gzip
import time
from email.utils import formatdate

import pytest

from helpgen import server
from serverkit import assert_no_leak, call



# --------------------------------------------------------------------------- static

def test_home_page_lists_markets_with_security_headers(app):
    r = call(app, "GET", "/")
    assert r.status == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert 'href="us/"' in r.text and 'href="de/"' in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "https:" not in csp and "*" not in csp


def test_article_page_csp_allows_exactly_its_inline_scripts(app):
    r = call(app, "GET", "/us/2026.11/")
    assert r.status == 200
    hashes = server.inline_script_hashes(r.text)
    assert hashes, "Material pages carry inline scripts"
    script_src = next(p for p in r.headers["content-security-policy"].split(";")
                      if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    for h in hashes:
        assert f"'sha256-{h}'" in script_src


def test_directory_without_slash_redirects_and_with_slash_serves_index(app):
    r = call(app, "GET", "/us/2026.11", query="x=1")
    assert r.status == 301 and r.headers["location"] == "/us/2026.11/?x=1"
    r = call(app, "GET", "/us/2026.11/partners/support-tickets/submit-a-ticket/")
    assert r.status == 200 and "<html" in r.text


def test_every_market_and_version_and_alias_is_served(app):
    for path in ("/us/2026.10/", "/us/2026.11/", "/us/latest/", "/de/2026.11/", "/us/",
                 "/us/versions.json"):
        assert call(app, "GET", path).status == 200, path
    versions = call(app, "GET", "/us/versions.json").json()
    assert [v["version"] for v in versions] == ["2026.11", "2026.10"]


@pytest.mark.parametrize("path", [
    "/../helpgen.yml",
    "/%2e%2e/helpgen.yml",
    "/us/%2e%2e/%2e%2e/helpgen.yml",
    "/us/2026.11/%2E%2E/%2E%2E/%2E%2E/helpgen.yml",
    "/%252e%252e/helpgen.yml",
    "/us/..%2fhelpgen.yml",
    "/us/..%5c..%5chelpgen.yml",
    "/us\\..\\..\\helpgen.yml",
    "/us/%00/index.html",
    "/us/index.html%00.png",
    "/.staging/x",
    "/us/.lock",
    "//etc/passwd",
    "/us/2026.11/../../../helpgen.yml",
    "/%c0%ae%c0%ae/helpgen.yml",
    "/C:/Windows/win.ini",
])
def test_path_traversal_is_refused_without_leaking(app, served, path):
    r = call(app, "GET", path)
    assert r.status in (400, 404), (path, r.status)
    assert_no_leak(r, served)


def test_symlink_out_of_the_site_folder_is_not_followed(tmp_path, cfg):
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "index.html").write_text("<p>home</p>", encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret", encoding="utf-8")
    (site_dir / "leak.txt").symlink_to(secret)
    (site_dir / "dir").symlink_to(tmp_path)
    a = server.make_app(cfg, site_dir, tmp_path / "idx")
    for path in ("/leak.txt", "/dir/secret.txt"):
        r = call(a, "GET", path)
        assert r.status == 404 and b"top secret" not in r.body, path
    assert call(a, "GET", "/").status == 200


@pytest.mark.parametrize("name, ctype", [
    ("data.json", "application/json"),
    ("logo.svg", "image/svg+xml"),
    ("font.woff2", "font/woff2"),
    ("style.css", "text/css; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("sitemap.xml", "application/xml"),
    ("notes.txt", "text/plain; charset=utf-8"),
    ("blob.bin", "application/octet-stream"),
])
def test_content_types(tmp_path, cfg, name, ctype):
    (tmp_path / name).write_bytes(b"x" * 10)
    r = call(server.make_app(cfg, tmp_path, tmp_path / "idx"), "GET", "/" + name)
    assert r.status == 200 and r.headers["content-type"] == ctype


def test_etag_and_last_modified_answer_304_until_the_file_changes(tmp_path, cfg):
    page = tmp_path / "page.html"
    page.write_text("<p>one</p>", encoding="utf-8")
    a = server.make_app(cfg, tmp_path, tmp_path / "idx")
    first = call(a, "GET", "/page.html")
    etag = first.headers["etag"]
    assert first.status == 200 and first.headers["last-modified"]
    again = call(a, "GET", "/page.html", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b"" and again.headers["etag"] == etag
    assert call(a, "GET", "/page.html", headers={"If-None-Match": f'W/{etag}, "x"'}).status == 304
    since = formatdate(time.time() + 60, usegmt=True)
    assert call(a, "GET", "/page.html", headers={"If-Modified-Since": since}).status == 304
    old = formatdate(time.time() - 3600, usegmt=True)
    assert call(a, "GET", "/page.html", headers={"If-Modified-Since": old}).status == 200
    page.write_text("<p>two, longer</p>", encoding="utf-8")
    changed = call(a, "GET", "/page.html", headers={"If-None-Match": etag})
    assert changed.status == 200 and b"two" in changed.body and changed.headers["etag"] != etag


def test_gzip_only_when_accepted_and_only_for_text(app, served):
    css = next((served / "site/us/2026.11/assets/stylesheets").glob("main.*.min.css"))
    path = "/us/2026.11/assets/stylesheets/" + css.name
    zipped = call(app, "GET", path, headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.body) == css.read_bytes()
    assert int(zipped.headers["content-length"]) == len(zipped.body) < css.stat().st_size
    plain = call(app, "GET", path)
    assert "content-encoding" not in plain.headers and plain.body == css.read_bytes()
    refused = call(app, "GET", path, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    png = call(app, "GET", "/us/2026.11/assets/images/favicon.png",
               headers={"Accept-Encoding": "gzip"})
    assert png.status == 200 and "content-encoding" not in png.headers


def test_cache_control_revalidates_html_and_keeps_fingerprinted_assets(app, served):
    assert call(app, "GET", "/us/2026.11/").headers["cache-control"] == "no-cache"
    bundle = next((served / "site/us/2026.11/assets/javascripts").glob("bundle.*.min.js"))
    r = call(app, "GET", "/us/2026.11/assets/javascripts/" + bundle.name)
    assert "immutable" in r.headers["cache-control"]
    assert r.headers["content-type"].startswith("text/javascript")


def test_search_bundle_files_are_immutable_and_gzipped_but_its_manifest_revalidates(app, served):
    import json

    folder = served / "site/us/2026.11/search/bundle"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    chunk = manifest["files"]["terms"]["en"][0][1]
    r = call(app, "GET", "/us/2026.11/search/bundle/" + chunk,
             headers={"Accept-Encoding": "gzip"})
    assert r.status == 200 and "immutable" in r.headers["cache-control"]
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers.get("content-encoding") == "gzip"
    article = call(app, "GET", f"/us/2026.11/search/bundle/{manifest['files']['articles']}0.json")
    assert article.status == 200 and "immutable" in article.headers["cache-control"]
    m = call(app, "GET", "/us/2026.11/search/bundle/manifest.json")
    assert m.status == 200 and "immutable" not in m.headers["cache-control"]


def test_head_has_headers_and_no_body(app):
    r = call(app, "HEAD", "/us/2026.11/")
    assert r.status == 200 and r.body == b"" and int(r.headers["content-length"]) > 0


def test_static_files_refuse_other_methods(app):
    r = call(app, "POST", "/us/2026.11/", body=b"x")
    assert r.status == 405 and r.headers["allow"] == "GET, HEAD"


def test_missing_page_gets_the_markets_material_404_with_working_links(app, served):
    r = call(app, "GET", "/de/2026.11/no/such/page/")
    assert r.status == 404
    assert 'lang="de"' in r.text
    css = next((served / "site/de/2026.11/assets/stylesheets").glob("main.*.min.css"))
    assert f'href="/de/2026.11/assets/stylesheets/{css.name}"' in r.text
    assert 'href="/assets/' not in r.text
    unknown_market = call(app, "GET", "/zz/whatever")
    assert unknown_market.status == 404 and 'lang="en"' in unknown_market.text


# --------------------------------------------------------------------------- units

@pytest.mark.parametrize("path", ["/../x", "/a/%2e%2e/b", "/a\\b", "/.git/config", "/a/./b",
                                  "/a\x00b", "/C:/x", "relative", "/\xff"])
def test_split_path_refuses_what_no_built_site_has(path):
    with pytest.raises(server.BadPath):
        server.split_path(path)


def test_split_path_decodes_utf8_segments():
    assert server.split_path("/de/r\xc3\xbcckgabe/") == (["de", "rückgabe"], True)
    assert server.split_path("/") == ([], True)


def test_inline_script_hashes_skip_external_and_data_scripts():
    page = ('<script>var a=1</script><script src="x.js"></script>'
            '<script type="application/json">{"a":1}</script><script type="module">b()</script>')
    hashes = server.inline_script_hashes(page)
    assert len(hashes) == 2
    csp = server.page_csp(hashes)
    assert all(f"'sha256-{h}'" in csp for h in hashes) and "'unsafe-inline'" not in \
        csp.split("script-src")[1].split(";")[0]


def test_file_cache_keeps_gzip_and_hashes_and_drops_oldest(tmp_path):
    cache = server.FileCache(max_bytes=3000)
    files = []
    for i in range(3):
        f = tmp_path / f"p{i}.html"
        f.write_text("<script>x()</script>" + "a" * 1200, encoding="utf-8")
        files.append(f)
    items = [cache.get(f, f.stat(), "text/html; charset=utf-8") for f in files]
    assert all(item.gz is not None and len(item.script_hashes) == 1 for item in items)
    assert len(cache._items) < 3  # the oldest was dropped to stay under max_bytes
