"""Where a document's language lives: the field `lang` of a stage's result struct; the `language` stage writes
`language.lang` (ISO 639-1, or GlotLID's `eng_Latn`).

Per-language parameters of the heuristic stages read `LANGUAGE_COLUMN`; statistics count documents per language
from the latest stage whose result has a string `LANGUAGE_FIELD`.
"""

LANGUAGE_FIELD = "lang"
LANGUAGE_STAGE = "language"
LANGUAGE_COLUMN = f"{LANGUAGE_STAGE}.{LANGUAGE_FIELD}"
# The language of a document whose language is not known.
UNDETERMINED_LANGUAGE = "und"
