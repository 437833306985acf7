"""The built-in demo crawl: a deterministic, generated WARC of HTML pages, as a crawler writes it.

Every page is a request + response + metadata record (like Common Crawl), the response an HTML page with
navigation, sidebar and footer around its article; besides English articles there are Spanish, French and
German pages, keyword spam, near-empty pages, exact and near duplicates, images, redirects and 404s (skipped
by design) and a few broken records (a damaged gzip member, a header that is not UTF-8, a truncated record at
the end) for quarantine. One page lies about its charset. The same `pages` and `seed` give the same bytes.
"""

from __future__ import annotations

import html
import random
from pathlib import Path

from thresher.demo import (
    _BOILERPLATE,
    _DE_SENTENCES,
    _ES_SENTENCES,
    _FR_SENTENCES,
    _english_article,
    _near_duplicate,
    _other_language_article,
    _spam,
)
from thresher.io.warc_write import (
    gzip_member,
    metadata_record,
    request_record,
    response_record,
    warcinfo_record,
)

_DOMAINS = ["news.example.com", "blog.example.org", "shop.example.net", "wiki.example.edu"]
_NAV = ["Home", "World", "Local", "Sport", "Culture", "Weather", "Contact"]
_SIDEBAR = ["Most read", "Related stories", "Newsletter", "Follow us"]
_RUSSIAN = (
    "Городской совет представил новый план по благоустройству набережной. Жители района обсудили проект на "
    "открытом собрании и предложили добавить велосипедные дорожки. По словам организаторов, работы начнутся "
    "весной и продлятся до конца лета. Музей истории города подготовил выставку старых фотографий реки."
)


def page_html(title: str, body: str, rng: random.Random, lang: str = "en") -> str:
    """An HTML page: navigation, the article's paragraphs, a sidebar of links and a boilerplate footer."""
    nav = " ".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in _NAV)
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n\n") if p.strip())
    sidebar = "".join(
        f"<h3>{s}</h3><ul>"
        + "".join(f'<li><a href="/story/{rng.randrange(9999)}">Story {rng.randrange(99)}</a></li>' for _ in range(4))
        + "</ul>"
        for s in rng.sample(_SIDEBAR, k=2)
    )
    footer = "".join(f"<p>{html.escape(b)}</p>" for b in rng.sample(_BOILERPLATE, k=3))
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<script>window.analytics = {id: 42};</script><style>body{font-family:sans-serif}</style></head>"
        f'<body><header><nav><ul class="menu">{nav}</ul></nav></header>'
        f"<main><article><h1>{html.escape(title)}</h1>{paragraphs}</article></main>"
        f'<aside class="sidebar">{sidebar}</aside><footer>{footer}</footer></body></html>'
    )


def generate_demo_warc(path: str | Path, pages: int = 1200, seed: int = 7) -> dict[str, int]:
    """Write the demo crawl as a .warc.gz (one gzip member per record); returns pages (and broken records)
    written per kind."""
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    members: list[bytes] = [gzip_member(warcinfo_record(Path(path).name))]
    bodies: list[str] = []

    def emit(kind: str, *records: bytes) -> None:
        counts[kind] = counts.get(kind, 0) + 1
        members.extend(gzip_member(r) for r in records)

    for i in range(pages):
        url = f"https://{rng.choice(_DOMAINS)}/{i // 100}/{i}"
        roll = rng.random()
        lang = "en"
        if roll < 0.50:
            kind, text = "article_en", _english_article(rng)
        elif roll < 0.57:
            kind, text, lang = "article_es", _other_language_article(rng, _ES_SENTENCES), "es"
        elif roll < 0.62:
            kind, text, lang = "article_fr", _other_language_article(rng, _FR_SENTENCES), "fr"
        elif roll < 0.66:
            kind, text, lang = "article_de", _other_language_article(rng, _DE_SENTENCES), "de"
        elif roll < 0.72:
            kind, text = "spam", _spam(rng)
        elif roll < 0.76:
            kind, text = "near_empty", rng.choice(_BOILERPLATE)
        elif roll < 0.81 and bodies:
            kind, text = "exact_duplicate", rng.choice(bodies)
        elif roll < 0.86 and bodies:
            kind, text = "near_duplicate", _near_duplicate(rng, rng.choice(bodies))
        elif roll < 0.91:
            image = bytes(rng.randrange(256) for _ in range(64))
            emit("image", request_record(url + ".png"), response_record(url + ".png", image, content_type="image/png"))
            continue
        elif roll < 0.95:
            status = rng.choice([301, 404, 500])
            emit(f"http_{status}", request_record(url), response_record(url, b"<html>gone</html>", status=status))
            continue
        else:
            kind, text = "article_en", _english_article(rng)
        bodies.append(text)
        title = text.split("\n\n", 1)[0][:80]
        page = page_html(title, text, rng, lang)
        emit(kind, request_record(url), response_record(url, page.encode("utf-8")), metadata_record(url))

    # A Russian page whose server claims UTF-8 while the bytes are windows-1251 (charset detection fixes it).
    lying = page_html("Новости города", _RUSSIAN, rng, "ru").replace('<meta charset="utf-8">', "")
    url = "https://news.example.ru/city"
    emit("wrong_charset", response_record(url, lying.encode("cp1251"), content_type="text/html; charset=utf-8"))
    # Broken records: a damaged gzip member and a header that is not UTF-8, placed mid-file; a truncated
    # record at the very end (a crawl cut short).
    damaged = bytearray(gzip_member(response_record("https://broken.example.com/a", b"<html><p>lost</p></html>")))
    damaged[24:56] = bytes(32)
    members.insert(len(members) // 3, bytes(damaged))
    counts["bad_gzip_member"] = 1
    undecodable = response_record("https://broken.example.com/NAME", b"<html><p>x</p></html>").replace(
        b"NAME", b"\xff\xfe"
    )
    members.insert(2 * len(members) // 3, gzip_member(undecodable))
    counts["undecodable_header"] = 1
    last = gzip_member(
        response_record("https://broken.example.com/cut", page_html("Cut", _english_article(rng), rng).encode())
    )
    members.append(last[: len(last) // 2])
    counts["truncated_record"] = 1
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"".join(members))
    return counts
