"""A deterministic, web-like demo corpus: articles in several languages, boilerplate, spam, near and exact
duplicates, and malformed records of every kind ingest quarantines. All text is generated from the word
banks below; the same `docs` and `seed` always give the same bytes."""

from __future__ import annotations

import random
from pathlib import Path

import orjson

_EN_SUBJECTS = [
    "The city council",
    "A local bakery",
    "The research team",
    "Our volunteers",
    "The new library",
    "A small startup",
    "The regional hospital",
    "The football club",
    "Farmers in the valley",
    "The museum",
    "Students at the college",
    "The transit authority",
    "A group of engineers",
    "The orchestra",
    "Residents of the old town",
    "The weather service",
    "The harbour office",
    "A family-run vineyard",
]
_EN_VERBS = [
    "announced",
    "opened",
    "completed",
    "published",
    "discussed",
    "reviewed",
    "celebrated",
    "tested",
    "expanded",
    "repaired",
    "presented",
    "measured",
    "organised",
    "documented",
    "planned",
    "funded",
]
_EN_OBJECTS = [
    "a plan to improve cycling routes",
    "the results of a two-year study",
    "a community garden",
    "a programme for young readers",
    "new opening hours",
    "an exhibition about river boats",
    "a report on water quality",
    "the restoration of the bridge",
    "a series of evening concerts",
    "a survey of nesting birds",
    "a faster way to sort recycling",
    "the budget for next year",
    "a workshop on home insulation",
    "a festival of regional food",
    "free language classes",
    "an archive of local photographs",
    "the timetable for the summer",
    "a study of soil erosion",
]
_EN_DETAILS = [
    "after months of preparation",
    "with support from local businesses",
    "despite the cold weather",
    "according to a statement released on Monday",
    "in front of a large audience",
    "for the first time",
    "as part of a wider effort",
    "following a public consultation",
    "with help from the university",
    "ahead of the autumn season",
    "to the surprise of many observers",
    "at a modest cost",
]
_EN_FOLLOWUPS = [
    "Organisers said they expect more people to take part next year.",
    "Several residents described the change as long overdue.",
    "The details are available on the council's website.",
    "Critics argue that the timeline is too ambitious.",
    "A spokesperson confirmed that the work will continue through the winter.",
    "Early feedback from participants has been positive.",
    "The project is funded for another three years.",
    "Questions from the public will be answered at the next meeting.",
    "Data collected so far suggests a steady improvement.",
    "Nobody expected the response to be this strong.",
]

_ES_SENTENCES = [
    "El ayuntamiento presentó un nuevo plan para mejorar el transporte público.",
    "Los vecinos del barrio celebraron la apertura de la biblioteca municipal.",
    "La cooperativa agrícola registró una cosecha mejor de lo esperado este año.",
    "Un grupo de estudiantes organizó un taller sobre energía solar.",
    "El museo amplió su horario durante las vacaciones de verano.",
    "Los investigadores publicaron los resultados de un estudio sobre la calidad del agua.",
    "La orquesta regional ofrecerá una serie de conciertos gratuitos en la plaza.",
    "Según el informe, la mayoría de los participantes quedó satisfecha con el programa.",
]
_FR_SENTENCES = [
    "La mairie a présenté un nouveau projet pour rénover la place du marché.",
    "Les habitants du quartier ont participé à une réunion publique très animée.",
    "Une petite entreprise locale a remporté un prix pour son travail sur le recyclage.",
    "Le musée propose une exposition consacrée à l'histoire de la navigation fluviale.",
    "Les chercheurs ont mesuré une amélioration nette de la qualité de l'air.",
    "La bibliothèque ouvrira ses portes le dimanche à partir du mois prochain.",
    "Selon les organisateurs, le festival a attiré plus de visiteurs que prévu.",
]
_DE_SENTENCES = [
    "Der Gemeinderat hat einen neuen Plan für sichere Radwege vorgestellt.",
    "Die Bewohner der Altstadt feierten die Eröffnung des renovierten Marktplatzes.",
    "Ein Forschungsteam der Universität veröffentlichte eine Studie über Bodenerosion.",
    "Die Bibliothek bietet ab dem nächsten Monat kostenlose Sprachkurse an.",
    "Nach Angaben der Veranstalter kamen mehr Besucher als im vergangenen Jahr.",
    "Der Wetterdienst warnt vor starkem Wind an der Küste.",
]
_BOILERPLATE = [
    "Home | About us | Contact | Privacy policy",
    "We use cookies to improve your experience. By continuing you accept our cookie policy.",
    "Copyright 2024 Example Media Ltd. All rights reserved.",
    "Subscribe to our newsletter",
    "Share this article on Facebook Twitter Email",
    "Click here to read more",
    "Log in | Register | Forgot password?",
]
_SPAM_WORDS = ["cheap", "best", "buy", "online", "discount", "casino", "free", "bonus", "pills", "deal", "win"]


def _english_article(rng: random.Random) -> str:
    paragraphs = []
    for _ in range(rng.randint(3, 7)):
        sentences = []
        for _ in range(rng.randint(2, 5)):
            sentences.append(
                f"{rng.choice(_EN_SUBJECTS)} {rng.choice(_EN_VERBS)} {rng.choice(_EN_OBJECTS)} "
                f"{rng.choice(_EN_DETAILS)}."
            )
            if rng.random() < 0.4:
                sentences.append(rng.choice(_EN_FOLLOWUPS))
        paragraphs.append(" ".join(sentences))
    title = f"{rng.choice(_EN_SUBJECTS)} {rng.choice(_EN_VERBS)} {rng.choice(_EN_OBJECTS)}"
    return title + "\n\n" + "\n\n".join(paragraphs)


def _other_language_article(rng: random.Random, sentences: list[str]) -> str:
    return "\n\n".join(" ".join(rng.sample(sentences, k=rng.randint(3, len(sentences)))) for _ in range(3))


def _with_boilerplate(rng: random.Random, body: str) -> str:
    header = "\n".join(rng.sample(_BOILERPLATE, k=2))
    footer = "\n".join(rng.sample(_BOILERPLATE, k=3))
    return f"{header}\n{body}\n{footer}"


def _spam(rng: random.Random) -> str:
    return " ".join(rng.choice(_SPAM_WORDS) for _ in range(rng.randint(40, 120)))


def _messy_whitespace(rng: random.Random, body: str) -> str:
    # Windows line breaks, tabs, non-breaking spaces, decomposed accents and stray control characters.
    messy = body.replace("\n\n", "\r\n\r\n\r\n\r\n").replace(". ", ".\u00a0\u00a0 ", 3)
    return "\ufeff" + messy.replace("e", "e\u0301", 2) + "\x00\x07\t \t"


def _near_duplicate(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    for _ in range(max(1, len(words) // 50)):
        i = rng.randrange(len(words))
        words[i] = rng.choice(["indeed", "also", "recently", "reportedly"])
    return " ".join(words)


def generate_demo_corpus(path: str | Path, docs: int = 3000, seed: int = 7) -> dict[str, int]:
    """Write the corpus as JSON lines; returns how many records of each kind were written."""
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    lines: list[bytes] = []
    texts: list[str] = []

    def emit(kind: str, record: object | bytes) -> None:
        counts[kind] = counts.get(kind, 0) + 1
        lines.append(record if isinstance(record, bytes) else orjson.dumps(record))

    for i in range(docs):
        roll = rng.random()
        domain = rng.choice(["news.example.com", "blog.example.org", "shop.example.net", "wiki.example.edu"])
        url = f"https://{domain}/{i // 100}/{i}"
        if roll < 0.50:
            kind, text = "article_en", _english_article(rng)
        elif roll < 0.58:
            kind, text = "article_es", _other_language_article(rng, _ES_SENTENCES)
        elif roll < 0.64:
            kind, text = "article_fr", _other_language_article(rng, _FR_SENTENCES)
        elif roll < 0.69:
            kind, text = "article_de", _other_language_article(rng, _DE_SENTENCES)
        elif roll < 0.79:
            kind, text = "boilerplate", _with_boilerplate(rng, _english_article(rng))
        elif roll < 0.85:
            kind, text = "spam", _spam(rng)
        elif roll < 0.89:
            kind, text = "short", rng.choice(_BOILERPLATE)
        elif roll < 0.92:
            kind, text = "messy_whitespace", _messy_whitespace(rng, _english_article(rng))
        elif roll < 0.96 and texts:
            kind, text = "exact_duplicate", rng.choice(texts)
        elif texts:
            kind, text = "near_duplicate", _near_duplicate(rng, rng.choice(texts))
        else:
            kind, text = "article_en", _english_article(rng)
        texts.append(text)
        meta = {"crawl": "DEMO-2024-10", "kind": kind}
        if rng.random() < 0.3:
            meta["tags"] = rng.sample(["local", "science", "culture", "sport", "weather"], k=2)
        emit(kind, {"id": f"demo-{i:06d}", "text": text, "url": url, **meta})

    # One of each malformed kind, spread through the file, plus a record reusing an earlier id.
    malformed: list[tuple[str, bytes]] = [
        ("invalid_json", b'{"id": "bad-json", "text": "unterminated'),
        ("invalid_utf8", b'{"id": "bad-utf8", "text": "caf\xe9 au lait"}'),
        ("not_an_object", b'["a", "list", "not", "an", "object"]'),
        ("missing_text", orjson.dumps({"id": "no-text", "body": "the text is under another key"})),
        ("null_text", orjson.dumps({"id": "null-text", "text": None})),
        ("text_not_string", orjson.dumps({"id": "number-text", "text": 12345})),
        ("empty_text", orjson.dumps({"id": "empty-text", "text": ""})),
        ("blank_text", orjson.dumps({"id": "blank-text", "text": " \n\t \u3000 "})),
        ("invalid_unicode", b'{"id": "lone-surrogate", "text": "broken \\ud800 pair"}'),
        ("empty_line", b""),
        ("too_large", orjson.dumps({"id": "huge", "text": "word " * 60_000})),
        ("duplicate_id", orjson.dumps({"id": "demo-000001", "text": "A different page that reuses an id."})),
    ]
    for kind, record in malformed:
        position = rng.randrange(len(lines) + 1)
        lines.insert(position, record)
        counts[kind] = counts.get(kind, 0) + 1
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"\n".join(lines) + b"\n")
    return counts
