"""`c4_quality`: the C4 rules (Raffel et al. 2020, section 2.2, and the rules of its released code).

Line by line: lines with a word over `max_word_length` characters, without terminal punctuation, with fewer
than `min_words_per_line` words, mentioning javascript, or with a cookie / terms-of-use phrase are removed
(wiki citation marks like "[1]" are cut first). A kept line with "lorem ipsum" or a curly bracket drops the
whole document, and so do fewer than `min_num_sentences` sentences in the kept lines. The document is
rewritten without the removed lines; optionally (RefinedWeb, Penedo et al. 2023) it is dropped when the
removal took more than `max_removed_fraction` of its words.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field
from pyspark.sql.types import DoubleType, LongType, StructField

from thresher.stages.quality._heuristic import NEW_TEXT, HeuristicStage, below
from thresher.stages.quality._language import PerLanguageParams
from thresher.stages.registry import register
from thresher.text.analysis import DocAnalysis
from thresher.text.sentences import count_sentences, has_space_tokens, may_have_space_tokens, sentence_flags
from thresher.text.words import WordSplitter

_CITATION = re.compile(r"\[(?:\d*|edit|citation needed)\]")
_TERMINAL = (".", "?", "!", '"', "'")
_ELLIPSIS = "..."
DEFAULT_POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies")
DEFAULT_POLICY_PHRASES += ("use cookies",)


class C4QualityParams(PerLanguageParams):
    remove_citations: bool = Field(
        default=True,
        description="Cut Wikipedia-style citation markers such as `[1]` or `[citation needed]` from lines.",
    )
    filter_no_terminal_punct: bool = Field(
        default=True, description="Remove lines that do not end in terminal punctuation."
    )
    # Documents with fewer sentences in their kept lines are dropped; 0 or null turns the rule off.
    min_num_sentences: int | None = Field(default=5, ge=0)
    min_words_per_line: int = Field(default=3, ge=0, description="Remove lines with fewer words (0: keep all).")
    # Lines with a longer word are removed; null turns the rule off.
    max_word_length: int | None = Field(default=1000, ge=1)
    filter_lorem_ipsum: bool = Field(default=True, description="Drop documents containing `lorem ipsum`.")
    filter_javascript: bool = Field(default=True, description="Remove lines mentioning javascript.")
    filter_curly_bracket: bool = Field(
        default=True, description="Drop documents containing a curly bracket `{` (code)."
    )
    filter_policy: bool = Field(
        default=True, description="Remove lines with a `policy_phrases` phrase (cookie and terms notices)."
    )
    policy_phrases: list[str] = Field(
        default_factory=lambda: list(DEFAULT_POLICY_PHRASES),
        description="Phrases (compared lower-cased) that mark a line as a policy notice.",
    )
    # Drop documents whose removed lines held more than this fraction of their words (RefinedWeb uses 0.05 for
    # its line corrections); null keeps them whatever was removed, as C4 does.
    max_removed_fraction: float | None = Field(default=None, ge=0, le=1)


_LINE_COUNTERS = ("long_word", "no_terminal_punct", "too_few_words", "javascript", "policy")


@register
class C4Quality(HeuristicStage):
    """C4 rules: removes lines (no terminal punctuation, short, javascript, policy), drops documents
    (lorem ipsum, curly bracket, too few sentences, too much removed)."""

    id = "c4_quality"
    Params = C4QualityParams
    rewrites_text = True
    uses_line_pieces = True
    params: C4QualityParams

    def signal_fields(self) -> list[StructField]:
        return [
            StructField("lines", LongType()),
            StructField("lines_kept", LongType()),
            *(StructField(f"lines_{name}", LongType()) for name in _LINE_COUNTERS),
            StructField("sentences", LongType()),
            StructField("removed_word_frac", DoubleType()),
        ]

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        p = self.params
        return {"sentences": (p.min_num_sentences or None, None), "removed_word_frac": (None, p.max_removed_fraction)}

    def signals(self, analysis: DocAnalysis, splitter: WordSplitter, params: Any) -> dict[str, Any]:
        p: C4QualityParams = params
        counts = dict.fromkeys(_LINE_COUNTERS, 0)
        kept: list[str] = []
        sentences = 0
        # Sentences per line (as Python ints), computed when the first line is kept.
        line_sentences: list[int] | None = None
        document_rule: str | None = None
        # Substring tests: faster than one regex alternation of the phrases, and they find the same lines.
        policy = p.policy_phrases if p.filter_policy else ()
        # Most documents have no whitespace but single spaces inside their lines: no line then needs the check.
        space_tokens = may_have_space_tokens(analysis.text)
        words_before = words_after = 0
        # The parameters as locals: read once per document, not once per line.
        limit, min_words = p.max_word_length, p.min_words_per_line
        citations, terminal_punct = p.remove_citations, p.filter_no_terminal_punct
        lorem, javascript, curly = p.filter_lorem_ipsum, p.filter_javascript, p.filter_curly_bracket
        for index, (raw, pieces) in enumerate(zip(analysis.lines, analysis.line_piece_counts, strict=True)):
            line = raw.strip()
            edited = False
            words_before += pieces
            if limit is not None and len(line) > limit and max(map(len, line.split())) > limit:
                counts["long_word"] += 1
                continue
            if citations and "[" in line:
                line, edits = _CITATION.subn("", line)
                edited = edits > 0
            if terminal_punct and (not line.endswith(_TERMINAL) or line.endswith(_ELLIPSIS)):
                counts["no_terminal_punct"] += 1
                continue
            if pieces < min_words:
                counts["too_few_words"] += 1
                continue
            lowered = line.lower()
            if lorem and "lorem ipsum" in lowered:
                document_rule = document_rule or "lorem_ipsum"
            if javascript and "javascript" in lowered:
                counts["javascript"] += 1
                continue
            if curly and "{" in line:
                document_rule = document_rule or "curly_bracket"
            if policy and any(phrase in lowered for phrase in policy):
                counts["policy"] += 1
                continue
            if edited or (space_tokens and has_space_tokens(line)):
                sentences += count_sentences(sentence_flags(splitter, line))
            else:
                if line_sentences is None:
                    line_sentences = analysis.line_sentences(splitter).tolist()
                sentences += line_sentences[index]
            kept.append(line)
            words_after += len(line.split()) if edited else pieces
        text = "\n".join(kept).strip()
        removed = 1 - words_after / words_before if words_before else 0.0
        return {
            "lines": len(analysis.lines),
            "lines_kept": len(kept),
            **{f"lines_{name}": count for name, count in counts.items()},
            "sentences": sentences,
            "removed_word_frac": removed,
            "_document_rule": document_rule,
            NEW_TEXT: text,
        }

    def decide(self, signals: dict[str, Any], params: Any) -> str | None:
        p: C4QualityParams = params
        if signals["_document_rule"]:
            return signals["_document_rule"]
        if below(signals["sentences"], p.min_num_sentences):
            return "too_few_sentences"
        if not signals[NEW_TEXT]:
            return "empty_after_line_removal"
        if p.max_removed_fraction is not None and signals["removed_word_frac"] > p.max_removed_fraction:
            return "too_much_removed"
        return None
