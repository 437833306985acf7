"""Language codes a user names in a stage's parameters must mean a language: a code ISO 639 does not know
(`xx`, `qqq`) would never match a document's language, so its setting would silently do nothing (a `languages:`
override, a `default_language`) or drop everything (the language stage's `languages` keep list)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from thresher.text.langcodes import parse


def require_known_codes(codes: Iterable[str], where: str, also_known: Callable[[str], bool] | None = None) -> None:
    """Raise ValueError naming the first code of `codes` that is neither an ISO 639 code nor `also_known`."""
    for code in codes:
        if parse(code).known or (also_known is not None and also_known(code)):
            continue
        raise ValueError(
            f"{where}: unknown language code {code!r}; give an ISO 639-1 or 639-3 code ('fr', 'fra') or "
            "lang_Script ('fra_Latn')"
        )
