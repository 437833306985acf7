"""Khmer words: khmer-nltk's segmenter (its CRF model, its clean-up and its character clusters), with the model and
the features built without the package's per-call overheads. The words are the same as `khmernltk.word_tokenize`'s
(tested on UDHR text and on random strings of Khmer, Latin, digits and spaces).

Why not call `word_tokenize`: on UDHR text half of its time goes to building each cluster's feature dictionary,
where every neighbour's type is recomputed for each of the up to seven clusters that see it, and its model is a
pickled sklearn-crfsuite estimator whose loading imports scikit-learn and SciPy (~1.3 CPU s per Python worker) only
to hand crfsuite the model's bytes. Here each cluster's type is computed once per call, the features are built a
column at a time, those the model does not know are left out before the tagger looks them up (unknown lookups were
most of the tagger's time), and the bytes are read from the same pickle by an unpickler that knows only the three
classes it holds, then given to python-crfsuite's tagger directly.
"""

from __future__ import annotations

import itertools
import pickle
from functools import cache
from typing import Any

_MODEL_FILE = "sklearn_crf_ner_10000.sav"  # the model khmer-nltk's word_tokenize uses
# The only classes in that pickle: the estimator, its model file (whose state holds the model's bytes) and a log
# parser left over from training.
_PICKLED_CLASSES = {
    ("sklearn_crfsuite.estimator", "CRF"),
    ("sklearn_crfsuite._fileresource", "FileResource"),
    ("pycrfsuite._logparser", "TrainLogParser"),
}
_FILE_DATA = "__FILE_RESOURCE_DATA__"


class _Pickled:
    """Stands in for each pickled class: keeps the state, runs none of the class's code."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class _ModelUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PICKLED_CLASSES:
            return _Pickled
        raise pickle.UnpicklingError(f"khmer-nltk's model holds an unexpected class {module}.{name}")


# The model's bytes: crfsuite reads an in-memory model where it lies, so they live as long as the tagger.
_model_bytes: list[bytes] = []


@cache
def _tagger() -> tuple[Any, dict[str, frozenset[str]] | None]:
    """(python-crfsuite's tagger over khmer-nltk's model, the values known per attribute name or None when they
    cannot be read)."""
    from importlib.resources import files

    import pycrfsuite

    with (files("khmernltk.word_tokenize") / _MODEL_FILE).open("rb") as handle:
        estimator = _ModelUnpickler(handle).load()
    _model_bytes.append(estimator.modelfile.__dict__[_FILE_DATA])
    tagger = pycrfsuite.Tagger()
    tagger.open_inmemory(_model_bytes[-1])
    return tagger, _model_attributes(tagger)


def _model_attributes(tagger: Any) -> dict[str, frozenset[str]] | None:
    """The model's attributes from the ATTRIBUTES block of crfsuite's text dump (~0.2 CPU s): the values known per
    attribute name (a flag such as `ns` is a name with the value ""); None when the dump cannot be read."""
    import os
    import tempfile

    descriptor, path = tempfile.mkstemp(suffix=".crfsuite.txt")
    os.close(descriptor)
    try:
        tagger.dump(path)
        with open(path, "rb") as handle:
            dump = handle.read()
    finally:
        os.unlink(path)
    head = b"ATTRIBUTES = {\n"
    start = dump.find(head)
    end = dump.find(b"\n}\n", start)
    if start < 0 or end < 0:
        return None
    try:
        lines = dump[start + len(head) : end].decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return None
    values: dict[str, set[str]] = {}
    for line in lines:
        # "  12: kcc[+3]:ល": the attribute follows the first ": "; its name ends at the first ":" after any "]".
        _, found, attribute = line.partition(": ")
        if not found:
            continue
        colon = attribute.find(":", attribute.find("]") if attribute.startswith("kcc[") else 0)
        name, value = (attribute, "") if colon < 0 else (attribute[:colon], attribute[colon + 1 :])
        values.setdefault(name, set()).add(value)
    return {name: frozenset(known) for name, known in values.items()}


# khmer-nltk's features of the cluster at position i: (name, what it reads, offset from i). What it reads is the
# clusters (1), their types (t), or the concatenations of 2, 3 or 4 clusters starting at i + offset; a feature is
# there when that index is (the window does not run past either end).
_VALUE_FEATURES = (
    ("kcc", 1, 0), ("t", "t", 0),
    ("kcc[-1]", 1, -1), ("kcc[-1]t", "t", -1), ("kcc[-1:0]", 2, -1),
    ("kcc[-2]", 1, -2), ("kcc[-2]t", "t", -2), ("kcc[-2:-1]", 2, -2), ("kcc[-2:0]", 3, -2),
    ("kcc[-3]", 1, -3), ("kcc[-3]t", "t", -3), ("kcc[-3:0]", 4, -3), ("kcc[-3:-1]", 3, -3), ("kcc[-3:-2]", 2, -3),
    ("kcc[+1]", 1, 1), ("kcc[+1]t", "t", 1), ("kcc[+1:0]", 2, 0),
    ("kcc[+2]", 1, 2), ("kcc[+2]t", "t", 2), ("kcc[+1:+2]", 2, 1), ("kcc[0:+2]", 3, 0),
    ("kcc[+3]", 1, 3), ("kcc[+3]t", "t", 3), ("kcc[+2:+3]", 2, 2), ("kcc[+1:+3]", 3, 1), ("kcc[0:+3]", 4, 0),
)  # fmt: skip
# Flags: "ns" of the cluster at i + offset (the cluster starts with a character of type NS); BOS and EOS.
_FLAG_FEATURES = (("ns", 0), ("ns-1", -1), ("ns+1", 1), ("ns+2", 2))


@cache
def _cluster_kinds() -> tuple[Any, Any]:
    """(a cluster's type as khmer-nltk's features name it, whether a cluster starts with a character of type NS)"""
    from khmernltk.utils import constants
    from khmernltk.word_tokenize.features import get_type, kcc_type

    no_space = constants.NS
    return kcc_type, lambda cluster: get_type(cluster[0]) == no_space


class _Everything:
    """The known values when the model's attributes could not be read: every attribute goes to the tagger."""

    def __contains__(self, value: object) -> bool:
        return value is not None


def _attributes(clusters: list[str], every_attribute: bool = False) -> list[list[str]]:
    """khmer-nltk's `create_kcc_features` as crfsuite reads them (`name:value`; a true flag is its bare name, a false
    one weighs 0), without the attributes the model does not know (unless `every_attribute`, or the model's attributes
    could not be read): the tagger would look each one up and skip it, and those lookups took most of its time."""
    known = None if every_attribute else _tagger()[1]
    kcc_type, is_no_space = _cluster_kinds()
    kinds: dict[str, tuple[str, bool]] = {}
    for cluster in clusters:
        if cluster not in kinds:
            kinds[cluster] = (kcc_type(cluster), is_no_space(cluster))
    count = len(clusters)
    pairs = [a + b for a, b in itertools.pairwise(clusters)]
    triples = [a + b for a, b in zip(pairs, clusters[2:], strict=False)]
    # Each source with three Nones before it and enough after it that position i + offset, for offsets -3..3, is
    # its value at i + offset or None where the window runs past an end.
    pad = [None, None, None]
    sources: dict[Any, list[Any]] = {
        1: [*pad, *clusters, *pad],
        "t": [*pad, *(kinds[c][0] for c in clusters), *pad],
        2: [*pad, *pairs, *pad, None],
        3: [*pad, *triples, *pad, None, None],
        4: [*pad, *(a + b for a, b in zip(triples, clusters[3:], strict=False)), *pad, None, None, None],
        "ns": [*pad, *(kinds[c][1] or None for c in clusters), *pad],
    }
    # One column per feature (None where it is absent or unknown), then each position's row without the Nones:
    # a comprehension per column costs a fraction of a loop over positions and features.
    columns = [
        [prefix + v if v in values else None for v in sources[source][3 + offset : 3 + offset + count]]
        for prefix, values, source, offset in _value_features(every_attribute=known is None)
    ]
    columns += [
        [name if flag else None for flag in sources["ns"][3 + offset : 3 + offset + count]]
        for name, offset in _FLAG_FEATURES
        if known is None or name in known
    ]
    for name, position in (("BOS", 0), ("EOS", count - 1)):
        if known is None or name in known:
            column: list[str | None] = [None] * count
            column[position] = name
            columns.append(column)
    return [[a for a in row if a is not None] for row in zip(*columns, strict=True)]


@cache
def _value_features(every_attribute: bool) -> list[tuple[str, Any, Any, int]]:
    """(prefix, known values, source, offset) of each value feature the model knows, or of every one with values
    that let any attribute through."""
    known = _tagger()[1]
    if every_attribute or known is None:
        return [(name + ":", _Everything(), source, offset) for name, source, offset in _VALUE_FEATURES]
    return [(name + ":", known[name], source, offset) for name, source, offset in _VALUE_FEATURES if name in known]


def khmer_tokens(text: str) -> list[str]:
    """`khmernltk.word_tokenize(text, return_tokens=True)`: the tokens, spaces and zero-width spaces included."""
    from khmernltk.utils.data import cleanup_str, seg_kcc

    clusters = seg_kcc(cleanup_str(text))
    if not clusters:
        return []
    labels = _tagger()[0].tag(_attributes(clusters))
    tokens: list[str] = []
    for index, (cluster, label) in enumerate(zip(clusters, labels, strict=True)):
        if label == "1" or index == 0:
            tokens.append(cluster)
        else:
            tokens[-1] += cluster
    return tokens
