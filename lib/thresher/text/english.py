"""English special cases of the word splitter: contractions, abbreviations, clock times and emoticons.

A special case maps a whole piece of text (between spaces, or left after splitting off punctuation) to its
tokens. The set follows the English tokenizer of spaCy that the reference rule implementation (datatrove)
counts words with: contractions split into their parts ("don't" -> "do", "n't"), abbreviations keep their
period ("Mr.", "e.g."), so that a period after them does not count as the end of a sentence.
"""

from __future__ import annotations

from functools import lru_cache

_APOSTROPHES = ("'", "\u2019")


def _title(word: str) -> str:
    return word[:1].upper() + word[1:]


# Pronouns and question words with the clitics they take.
_CLITICS: dict[str, tuple[str, ...]] = {
    "i": ("m", "d", "d've", "ll", "ll've", "ve"),
    "you": ("d", "d've", "ll", "ll've", "re", "ve"),
    "we": ("d", "d've", "ll", "ll've", "re", "ve"),
    "they": ("d", "d've", "ll", "ll've", "re", "ve"),
    "he": ("d", "d've", "ll", "ll've", "s"),
    "she": ("d", "d've", "ll", "ll've", "s"),
    "it": ("d", "d've", "ll", "ll've", "s"),
    "that": ("d", "d've", "ll", "ll've", "s"),
    "this": ("d", "d've", "ll", "ll've", "s"),
    "these": ("d", "d've", "ll", "ll've", "re", "ve"),
    "those": ("d", "d've", "ll", "ll've", "re", "ve"),
    **{
        w: ("d", "d've", "ll", "ll've", "re", "s", "ve")
        for w in ("there", "what", "when", "where", "who", "why", "how")
    },
}
# Verbs contracted with "not"; the second group also takes "n't've".
_NOT_VERBS = ("ai", "are", "dare", "has", "have", "is", "was", "were")
_NOT_VE_VERBS = ("ca", "could", "did", "does", "do", "had", "may", "might", "must", "need", "ought", "sha", "should")
_NOT_VE_VERBS += ("wo", "would")
_VE_MODALS = ("could", "might", "must", "should", "would", "not")
# Forms written without the apostrophe that are ordinary words, so not split.
_REAL_WORDS = frozenset({"ill", "its", "well", "hell", "shell", "shed", "whore", "were"})

_ABBREVIATIONS = (  # noqa: SIM905
    "Adm. Ak. Ala. Apr. Ariz. Ark. Aug. Bros. Calif. Co. Colo. Conn. Corp. D.C. Dec. Del. Dr. E.G. E.g. "
    "Feb. Fla. Ga. Gen. Gov. I.E. I.e. Ia. Id. Ill. Inc. Ind. Jan. Jr. Jul. Jun. Kan. Kans. Ky. La. Ltd. "
    "Mar. Mass. Md. Messrs. Mich. Minn. Miss. Mo. Mont. Mr. Mrs. Ms. Mt. N.C. N.D. N.H. N.J. N.M. N.Y. "
    "Neb. Nebr. Nev. Nov. Oct. Okla. Ore. Pa. Ph.D. Prof. Rep. Rev. S.C. Sen. Sep. Sept. St. Tenn. Va. "
    "Wash. Wis. a.m. p.m. co. e.g. i.e. vs. v.s. ä. ö. ü."
).split() + [f"{letter}." for letter in "abcdefghijklmnopqrstuvwxyz"]

# Single tokens that the punctuation rules would otherwise split.
_WHOLE = (  # noqa: SIM905
    "'s 'S ’s ’S ‘s ‘S ll 'd ’d 'll ’ll 're ’re 'em ’em ' ’ '' ’’ 'bout ’bout 'cause ’cause 'cos ’cos "
    "'coz ’coz 'cuz ’cuz 'nuff ’nuff 'Cause ’Cause 'Cos ’Cos 'Coz ’Coz 'Cuz ’Cuz ma'am ma’am o'clock "
    "o’clock O'clock O’clock Ma'am ol' ol’ Ol' Ol’ ol Ol em nuff and/or w/o C++ — doin doin' doin’ goin "
    "goin' goin’ havin havin' havin’ lovin lovin' lovin’ nothin nothin' nothin’ nuthin nuthin' nuthin’ "
    "somethin somethin' somethin’ Ma’am"
).split()
_WHOLE += [_title(w) for w in _WHOLE if w.endswith(("in", "in'", "in\u2019")) and w[0].islower()]

_EMOTICONS = (  # noqa: SIM905
    ":) :-) :)) :-)) :))) :-))) :( :-( :(( :-(( :((( :-((( :D :-D :P :-P :p :-p :O :-O :o :-o :0 :-0 :X "
    ":-X :x :-x :* :-* :/ :-/ :| :-| :] :-] :} :-} :> :-> :3 :-3 :1 :() :o) ;) ;-) ;D ;-D ;_; =) =( =D =/ "
    "=| =[ =] =3 :'( :') :'-( :'-) :’( :’) :’-( :’-) (: (; (= (-: (-; (-8 ): )-: [: [= [-: ]= 8) 8-) 8D "
    "8-D xD xDD XD XDD <3 <33 <333 </3 >:( >:o >.< >.> <.< ^_^ ^__^ ^___^ -_- -__- o_o o_O O_o O_O o.o "
    "o.O O.o O.O 0_0 0_o o_0 0.0 0.o o.0 v.v V.V v_v V_V @_@ ._. (._.) (-_-) (^_^) (>_<) (*_*) (o: (¬_¬) "
    "ಠ_ಠ (ಠ_ಠ) ಠ︵ಠ ¯\\(ツ)/¯"
).split()


def _with_apostrophes(parts: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The parts of a contraction written with ' or ’ (one kind per form) and, when not a real word, without."""
    forms = [tuple(p.replace("'", mark) for p in parts) for mark in _APOSTROPHES]
    bare = tuple(p.replace("'", "") for p in parts)
    if "".join(bare).lower() not in _REAL_WORDS:
        forms.append(bare)
    return forms


def _contractions() -> dict[str, tuple[str, ...]]:
    entries: list[tuple[str, ...]] = []
    for base, clitics in _CLITICS.items():
        for clitic in clitics:
            entries.append((base, *(f"'{c}" for c in clitic.split("'") if c)))
    for verb in _NOT_VERBS + _NOT_VE_VERBS:
        entries.append((verb, "n't"))
    for verb in _NOT_VE_VERBS:
        entries.append((verb, "n't", "'ve"))
    for modal in _VE_MODALS:
        entries.append((modal, "'ve"))
    entries += [("let", "'s"), ("i", "'m", "a")]
    special: dict[str, tuple[str, ...]] = {}
    for parts in entries:
        for form in _with_apostrophes(parts):
            if form == ("let", "s"):
                continue
            for cased in (form, (_title(form[0]), *form[1:])):
                special.setdefault("".join(cased), cased)
    for word, parts in {"cannot": ("can", "not"), "gonna": ("gon", "na"), "gotta": ("got", "ta")}.items():
        special[word] = parts
        special[_title(word)] = (_title(parts[0]), parts[1])
    for mark in _APOSTROPHES:
        special[f"c{mark}mon"] = (f"c{mark}m", "on")
        special[f"C{mark}mon"] = (f"C{mark}m", "on")
        special[f"y{mark}all"] = (f"y{mark}", "all")
    special["yall"] = ("y", "all")
    return special


@lru_cache(maxsize=1)
def english_special_cases() -> dict[str, tuple[str, ...]]:
    special = _contractions()
    for hour in range(1, 13):
        for suffix in ("am", "pm", "a.m.", "p.m."):
            special[f"{hour}{suffix}"] = (str(hour), suffix)
    for unit in "CFKcfk":
        special[f"\u00b0{unit}."] = ("\u00b0", unit, ".")
    for token in (*_ABBREVIATIONS, *_WHOLE, *_EMOTICONS):
        special[token] = (token,)
    return special
