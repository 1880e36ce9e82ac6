"""Deterministic rewrites (``curate.augment.rewrites``) and the non-answer list (``curate.augment.nonanswers``): pure, fast."""

from __future__ import annotations

import re

import pytest

from curate.augment import nonanswers, rewrites
from curate.augment.rewrites import Rewrite, causal_degrade, neutral_rewrites
from curate.judge import probe
from schemas.vocab import CausalAttribute

PROSE = "You can try this. Mr. Smith said so. It works well! Also, consider the cost. Then decide."
LIST = "Here are some options:\n- apples\n- pears are nice.\n* plums\n\nThat is all."
MESSY = "Too   many  spaces here.   \n\n\n\nAnd then more."
KEYS = [f"pair-{i}" for i in range(12)]


def _words(text: str) -> list[str]:
    """The words in order, lowercased: list markers, punctuation and whitespace aside."""
    return re.findall(r"\w+", text.lower())


def _by_name(text: str, key: str) -> dict[str, str]:
    return {r.name: r.text for r in neutral_rewrites(text, key=key)}


def test_augment_rewrites_bullets_to_prose_on_a_list():
    assert rewrites.bullets_to_prose(LIST) == "Here are some options:\napples. pears are nice. plums.\n\nThat is all."


def test_augment_rewrites_prose_to_bullets_one_item_per_sentence():
    assert rewrites.prose_to_bullets(PROSE) == ("- You can try this.\n- Mr. Smith said so.\n- It works well!\n"
                                                "- Also, consider the cost.\n- Then decide.")
    assert rewrites.prose_to_bullets("First one. Second one.\n\nThird one.") == "- First one.\n- Second one.\n\n- Third one."


def test_augment_rewrites_whitespace_variants_are_picked_by_key():
    outs = {rewrites.whitespace("One thing. Another thing.", k) for k in KEYS}
    assert outs == {"One thing.\n\nAnother thing.", "One thing.  Another thing."}


def test_augment_rewrites_whitespace_normalizes_messy_text():
    assert {rewrites.whitespace(MESSY, k) for k in KEYS} == {"Too many spaces here.\n\nAnd then more."}


def test_augment_rewrites_filler_opener_from_the_packaged_list():
    out = rewrites.filler_opener("Paris is the capital.", "k")
    opener = out.removesuffix(" Paris is the capital.")
    assert opener in rewrites.filler_openers() and opener != out
    assert len({rewrites.filler_opener("x", k) for k in KEYS}) > 1  # the key picks the opener


def test_augment_rewrites_names_are_the_rule_names_in_order():
    names = [r.name for r in neutral_rewrites(PROSE, key="k")]
    assert names == ["prose_to_bullets", "whitespace", "filler_opener"]
    assert set(names) <= set(rewrites.NEUTRAL_RULES)
    assert all(isinstance(r, Rewrite) for r in neutral_rewrites(LIST, key="k"))


def test_augment_rewrites_deterministic_by_key():
    for text in (PROSE, LIST, MESSY):
        for key in KEYS:
            assert neutral_rewrites(text, key=key) == neutral_rewrites(text, key=key)
    assert causal_degrade(PROSE, "completeness", key="a") == causal_degrade(PROSE, "completeness", key="b")


def test_augment_rewrites_each_rule_is_idempotent_with_its_key():
    for text in (PROSE, LIST, MESSY, "One. Two. Three."):
        for key in KEYS:
            for rw in neutral_rewrites(text, key=key):
                again = _by_name(rw.text, key)
                assert rw.name not in again, (rw.name, rw.text, again.get(rw.name))


def test_augment_rewrites_not_applicable_gives_no_rewrite():
    assert rewrites.bullets_to_prose(PROSE) is None  # no list
    assert rewrites.bullets_to_prose("- only one item") is None  # one item is not a list
    assert rewrites.prose_to_bullets(LIST) is None  # already a list
    assert rewrites.prose_to_bullets("A single sentence.") is None
    assert rewrites.prose_to_bullets("1. first step\n2. second step") is None  # a numbered list is a list
    assert "whitespace" not in _by_name("A single tidy sentence.", "k")
    assert rewrites.filler_opener("Great question. Here it is.", "k") is None  # already opens with a filler
    assert neutral_rewrites("", key="k") == []
    code = "Run this:\n```\nx  =  1\n- y\n- z\n```\nDone. Really done."
    assert {"bullets_to_prose", "prose_to_bullets", "whitespace"}.isdisjoint(_by_name(code, "k"))


def test_augment_rewrites_keep_the_words():
    for text in (PROSE, LIST, MESSY):
        for key in KEYS:
            for rw in neutral_rewrites(text, key=key):
                if rw.name == "filler_opener":
                    assert _words(rw.text)[-len(_words(text)):] == _words(text)
                    assert len(rw.text) > len(text)
                else:
                    assert _words(rw.text) == _words(text), rw.name
                assert rw.text != text


def test_augment_rewrites_abbreviations_and_initials_do_not_break_sentences():
    assert rewrites.sentences("Ask Dr. Who. See e.g. the U.S. list. J. Smith agrees.") == [
        "Ask Dr. Who.", "See e.g. the U.S. list.", "J. Smith agrees."]
    assert rewrites.sentences("他来了。我们走吧！好") == ["他来了。", "我们走吧！", "好"]


def test_augment_rewrites_truncate_keeps_the_first_third_at_a_sentence_boundary():
    out = causal_degrade(PROSE, CausalAttribute.COMPLETENESS, key="k")
    assert out == Rewrite("truncate", "You can try this.")
    six = "One a. Two b. Three c. Four d. Five e. Six f."
    assert causal_degrade(six, "completeness", key="k").text == "One a. Two b."
    lines = "Steps:\n- first do this\n- then that\n- and finally the last thing"
    assert causal_degrade(lines, "completeness", key="k").text == "Steps:"
    assert PROSE.startswith(out.text)


def test_augment_rewrites_truncate_not_applicable():
    assert causal_degrade("Only one sentence here.", "completeness", key="k") is None
    assert causal_degrade("A long first sentence that carries almost everything there is. Ok.", "completeness", key="k") is None


def test_augment_rewrites_no_rule_for_other_attributes():
    assert rewrites.CAUSAL_RULES == {"truncate": "completeness"}
    for attribute in CausalAttribute:
        if attribute != CausalAttribute.COMPLETENESS:
            assert causal_degrade(PROSE, attribute, key="k") is None
    with pytest.raises(ValueError):
        causal_degrade(PROSE, "no-such-attribute", key="k")


def test_augment_rewrites_version_is_a_16_hex_hash_of_the_rules(monkeypatch):
    assert re.fullmatch(r"[0-9a-f]{16}", rewrites.RULES_VERSION)
    assert rewrites._version() == rewrites.RULES_VERSION
    monkeypatch.setattr(rewrites, "KEEP_SHARE", 0.5)
    assert rewrites._version() != rewrites.RULES_VERSION


def test_augment_rewrites_nonanswers_are_the_probe_keys():
    assert nonanswers.master_keys() == [k["key"] for k in probe.master_keys()]
    en = nonanswers.master_keys(["en"])
    assert en and set(en) < set(nonanswers.master_keys())
    assert set(nonanswers.master_keys(["en", "symbol"])) == set(en) | {":", ".", ","}
    assert nonanswers.master_keys(["xx"]) == []
    assert "symbol" in nonanswers.languages() and "en" in nonanswers.languages()
