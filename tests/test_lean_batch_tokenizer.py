"""The lean predictor tokenizes a whole batch in one pass (texts joined by NUL) where the token
pattern allows it: every text must get exactly the terms it gets alone, whatever its neighbours.

Checked on the build's own stress corpus (case rules that change length, final sigma, accents,
marks, control characters, lone surrogates, NUL), for every analyzer setting the batch path
serves, and through both featurizers, with texts the batch path must not take mixed in.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mlayer.model.lean_corpus import stress_texts

REPO = Path(__file__).resolve().parent.parent


def _load_lean_predictor():
    spec = importlib.util.spec_from_file_location("lean_predictor_under_test", REPO / "function" / "lean_predictor.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


lean = _load_lean_predictor()
DEFAULT, ONE_CHAR = r"(?u)\b\w\w+\b", r"(?u)\b\w+\b"
TEXTS = [t for t in stress_texts() if len(t) < 20_000] + ["ΑΣ", "Σa", "ΟΔΟΣ", "a\u0301", "\u0301b", "x", "xy z"]
SETTINGS = [
    {"token_pattern": pattern, "lowercase": lowercase, "strip_accents": accents, "stop_words": stop, "ngram_range": grams}
    for pattern in (DEFAULT, ONE_CHAR)
    for lowercase, accents in ((True, None), (True, "unicode"), (False, "ascii"))
    for stop in (None, ["the", "word", "a"])
    for grams in ((1, 1), (1, 2), (2, 3))
]


def batches(texts: list[str], size: int, seed: int) -> list[list[str]]:
    shuffled = list(texts)
    random.Random(seed).shuffle(shuffled)
    return [shuffled[i : i + size] for i in range(0, len(shuffled), size)]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"{s['token_pattern'][-6:]}-{s['lowercase']}-{s['strip_accents']}-{bool(s['stop_words'])}-{s['ngram_range']}")
def test_each_text_gets_in_a_batch_exactly_the_terms_it_gets_alone(setting):
    analyze = lean.WordAnalyzer(setting)
    batchable = [t for t in TEXTS if "\x00" not in t]
    for batch in batches(batchable, 97, seed=len(setting["token_pattern"])):
        routed, single = analyze.routes(batch)
        assert routed == list(range(len(batch))) and single == []
        terms, index = analyze.batch(batch)
        assert len(terms) == len(index)
        got = [Counter() for _ in batch]
        for term, i in zip(terms, index.tolist()):
            got[i][term] += 1
        for text, terms_in_batch in zip(batch, got):
            assert terms_in_batch == Counter(analyze(text)), repr(text[:80])


@pytest.mark.parametrize("featurizer", ["count", "hashing"])
def test_a_batch_transform_equals_each_text_transformed_alone(featurizer):
    setting = {"token_pattern": DEFAULT, "lowercase": True, "strip_accents": "unicode", "stop_words": None, "ngram_range": (1, 2),
               "binary": False, "n_features": 2**12, "alternate_sign": True, "norm": "l2"}  # fmt: skip
    texts = [t for t in TEXTS if "\ud800" not in t]  # a lone surrogate cannot be hashed (UTF-8), by design
    if featurizer == "count":
        analyze = lean.WordAnalyzer(setting)
        vocabulary = sorted({term for text in texts[::3] for term in analyze(text)})
        features = lean.CountFeatures(setting, vocabulary)
    else:
        features = lean.HashingFeatures(setting)
    nul_texts = [t for t in texts if "\x00" in t]
    assert nul_texts  # the corpus mixes in texts the batch path must not take
    for batch in batches(texts, 113, seed=7):
        rows = features.transform(batch)
        for i, text in enumerate(batch):
            alone = features.transform([text])
            start, end = rows.indptr[i], rows.indptr[i + 1]
            assert np.array_equal(rows.indices[start:end], alone.indices) and np.array_equal(rows.data[start:end], alone.data), repr(text[:80])


def test_texts_holding_nul_or_not_str_are_tokenized_alone():
    analyze = lean.WordAnalyzer({"token_pattern": DEFAULT, "lowercase": True, "stop_words": None, "ngram_range": (1, 1)})
    assert analyze.routes(["ab cd", "ab\x00cd", 5, "ef"]) == ([0, 3], [1, 2])
    features = lean.CountFeatures({"token_pattern": DEFAULT, "lowercase": True, "stop_words": None, "ngram_range": (1, 1), "binary": False}, ["ab", "cd"])
    with pytest.raises(TypeError, match="a document must be a str, got int"):
        features.transform(["ab", 5])
    rows = features.transform(["ab\x00cd ab", "cd"])  # NUL splits tokens, as it does in scikit-learn
    assert rows.indptr.tolist() == [0, 2, 3] and rows.data.tolist() == [2.0, 1.0, 1.0]


@pytest.mark.parametrize(("pattern", "stop_words"), [(r"(?u)\b\w\w\w+\b", None), (r"[^ ]+", None), (DEFAULT, ["\x00"])])
def test_other_patterns_and_a_nul_stop_word_are_never_batched(pattern, stop_words):
    analyze = lean.WordAnalyzer({"token_pattern": pattern, "lowercase": True, "stop_words": stop_words, "ngram_range": (1, 2)})
    assert analyze.routes(["ab cd", "ef gh"]) == ([], [0, 1])
