"""The lean predictor: a fitted linear text model served with numpy alone, bit-identical to scikit-learn.

A lean model is a JSON spec (lean.json) plus plain arrays (.npy, read with allow_pickle=False),
written by `mlayer build model` (mlayer.model.lean_export) and PROVEN equal to scikit-learn's
own outputs at build time. Nothing here is imported from scikit-learn or scipy: importing them
is most of a cold start.

Exactness depends on doing the arithmetic in scikit-learn's order:
- text -> tokens: the word analyzer's own steps (lower, then strip accents, re.findall, stop
  words, n-grams joined by one space);
- row sums (scipy's CSR x dense kernel, sklearn's row normalisation) are sequential from 0.0, in
  ascending column order: `_row_sums` adds the k-th entry of every row in lock step;
- expit is scipy's 1 / (1 + exp(-x)) with the C library's exp (math.exp calls the same libm
  scipy links to; numpy's SIMD exp differs in the last bit);
- softmax, log, sums over classes: the very numpy calls sklearn makes.
"""

from __future__ import annotations

import json
import math
import os
import re
import unicodedata
from itertools import compress, filterfalse, repeat
from typing import Any

import numpy as np

FORMAT = "mlayer-lean/1"
SPEC_NAME = "lean.json"

try:  # the C extension; the pure-Python murmur3 below is the fallback (same values, slower)
    import mmh3 as _mmh3
except ImportError:  # pragma: no cover - exercised by forcing the fallback in tests
    _mmh3 = None


class LeanSpecError(ValueError):
    """lean.json or one of its arrays is not what this predictor reads."""


# ---------------------------------------------------------------- hashing


def murmurhash3_32(data: bytes, seed: int = 0) -> int:
    """Signed 32-bit MurmurHash3 (x86_32), as sklearn.utils.murmurhash3_32(positive=False)."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    length = len(data)
    body = length - length % 4
    for i in range(0, body, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[body:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
    h ^= length
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def _hashes_signed(terms: list[str]) -> np.ndarray:
    """Each term's signed murmur3 of its UTF-8 (strict: a lone surrogate raises, as in scikit-learn)."""
    encoded = map(str.encode, terms)
    hashed = map(_mmh3.hash, encoded) if _mmh3 is not None else map(murmurhash3_32, encoded)  # mmh3.hash: seed 0, signed
    return np.fromiter(hashed, dtype=np.int64, count=len(terms))


# ---------------------------------------------------------------- sparse rows


class Rows:
    """A CSR matrix: row i's columns are indices[indptr[i]:indptr[i+1]] (ascending), its values data[...]."""

    __slots__ = ("indptr", "indices", "data", "n_columns")

    # Plain classes, not @dataclass: each @dataclass execs generated code, ~0.6 ms of INIT at one vCPU.
    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n_columns: int) -> None:
        self.indptr = indptr  # int64, n_rows + 1
        self.indices = indices  # int64
        self.data = data  # float64
        self.n_columns = n_columns

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1


def _row_sums(indptr: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row, the sum of its entries of `values` (nnz x k), added left to right from 0.0.

    Every row advances one entry per step (rows sorted longest first, so the rows still going are
    a prefix): each step is one elementwise add, never a reduction numpy could reorder."""
    lengths = np.diff(indptr)
    n_rows = len(lengths)
    out = np.zeros((n_rows,) + values.shape[1:], dtype=np.float64)
    if n_rows == 0 or values.shape[0] == 0:
        return out
    order = np.argsort(-lengths, kind="stable")
    starts = indptr[:-1][order]
    sorted_lengths = lengths[order]
    acc = np.zeros_like(out)
    # active[k]: how many rows have more than k entries
    active = np.searchsorted(-sorted_lengths, -np.arange(int(sorted_lengths[0])), side="left")
    for k, rows in enumerate(active.tolist()):
        acc[:rows] += values[starts[:rows] + k]
    out[order] = acc
    return out


def _normalize(rows: Rows, norm: str | None) -> None:
    """sklearn.preprocessing.normalize on CSR, in place (inplace_csr_row_normalize_l1/l2)."""
    if norm is None:
        return
    data = rows.data
    if norm == "l2":
        sums = _row_sums(rows.indptr, data * data)
        sums = np.sqrt(sums)
    elif norm == "l1":
        sums = _row_sums(rows.indptr, np.abs(data))
    else:
        raise LeanSpecError(f"norm {norm!r} is not l1, l2 or null")
    per_entry = np.repeat(sums, np.diff(rows.indptr))
    divide = per_entry != 0.0  # rows summing to 0 are left as they are
    data[divide] /= per_entry[divide]


# ---------------------------------------------------------------- text -> features


def _strip_accents_unicode(text: str) -> str:
    try:
        text.encode("ASCII", errors="strict")
        return text
    except UnicodeEncodeError:
        normalized = unicodedata.normalize("NFKD", text)
        return "".join([c for c in normalized if not unicodedata.combining(c)])


def _strip_accents_ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ASCII", "ignore").decode("ASCII")


_ACCENTS = {None: None, "unicode": _strip_accents_unicode, "ascii": _strip_accents_ascii}


# One findall over a whole batch joined by NUL finds every text's tokens when a token is a maximal
# run of \w (of at least two, or one, characters): NUL is never \w, so no run spans two texts and a
# run that meets NUL ends there as at the end of a text; lower() and NFKD act on each text alone
# (NUL is neither cased nor case-ignorable, and is a starter). Scanning left to right, \w\w+ (\w+)
# matches exactly the maximal runs \b\w\w+\b (\b\w+\b) does, without testing \b at every
# character. NUL itself is matched as the boundary between texts; a text holding NUL goes alone.
_SEPARATOR = "\x00"
_BATCH_PATTERNS = {  # token_pattern -> the pattern that finds the same tokens, and NULs, in a joined batch
    r"(?u)\b\w\w+\b": r"(?u)\w\w+|\x00",  # scikit-learn's default
    r"(?u)\b\w+\b": r"(?u)\w+|\x00",  # its usual change: keep one-character words
}


class WordAnalyzer:
    """sklearn's word analyzer: preprocess (lowercase, then strip accents), tokenize, stop words, n-grams."""

    def __init__(self, spec: dict[str, Any]) -> None:
        if spec.get("strip_accents") not in _ACCENTS:
            raise LeanSpecError(f"strip_accents {spec.get('strip_accents')!r} is not null, 'ascii' or 'unicode'")
        self.lowercase = bool(spec["lowercase"])
        self.strip_accents = _ACCENTS[spec.get("strip_accents")]
        self.pattern = re.compile(spec["token_pattern"])
        if self.pattern.groups > 1:
            raise LeanSpecError("token_pattern has more than one capturing group")
        stop_words = spec.get("stop_words")
        self.stop_words = frozenset(stop_words) if stop_words is not None else None
        self.min_n, self.max_n = (int(n) for n in spec["ngram_range"])
        batch_pattern = _BATCH_PATTERNS.get(spec["token_pattern"])
        if self.stop_words and _SEPARATOR in self.stop_words:
            batch_pattern = None  # a NUL stop word would remove the boundaries
        self._batch_findall = re.compile(batch_pattern).findall if batch_pattern else None

    def routes(self, texts: list[Any]) -> tuple[list[int], list[int]]:
        """(indices of the texts `batch` takes, indices of those `__call__` takes one by one).

        A text's route depends on the text alone (a str without NUL goes in the batch), so the
        build's proof, which runs every text, proves each one on the route it will take."""
        if self._batch_findall is None:
            return [], list(range(len(texts)))
        batched: list[int] = []
        single: list[int] = []
        for index, text in enumerate(texts):
            (batched if type(text) is str and _SEPARATOR not in text else single).append(index)
        return batched, single

    def batch(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        """Every text's terms (as __call__ gives them, grouped by n rather than by text) and each term's
        text index: one lower(), one findall and C-level joins for the whole batch instead of per text."""
        joined = _SEPARATOR.join(texts)
        if self.lowercase:
            joined = joined.lower()
        if self.strip_accents is not None:
            joined = self.strip_accents(joined)
        tokens = self._batch_findall(joined)  # type: ignore[misc]
        if self.stop_words is not None:
            tokens = list(filterfalse(self.stop_words.__contains__, tokens))
        boundary = np.fromiter(map(_SEPARATOR.__eq__, tokens), dtype=bool, count=len(tokens))
        text_of = np.cumsum(boundary)  # for a token (not a boundary): the number of boundaries before it
        terms: list[str] = []
        text_index: list[np.ndarray] = []
        if self.min_n == 1:
            word = ~boundary
            terms = list(compress(tokens, word.tolist()))
            text_index.append(text_of[word])
        crossed = np.concatenate(([0], text_of))  # crossed[i]: boundaries among the first i tokens
        for n in range(max(2, self.min_n), self.max_n + 1):
            starts = len(tokens) - n + 1
            if starts <= 0:
                break
            inside = (crossed[n:] - crossed[:starts]) == 0  # the n tokens from this start hold no boundary
            terms.extend(compress(map(" ".join, zip(*[tokens[k:] for k in range(n)])), inside.tolist()))
            text_index.append(text_of[:starts][inside])
        return terms, np.concatenate(text_index) if text_index else np.zeros(0, dtype=np.int64)

    def __call__(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"a document must be a str, got {type(text).__name__}")
        if self.lowercase:
            text = text.lower()
        if self.strip_accents is not None:
            text = self.strip_accents(text)
        tokens = self.pattern.findall(text)
        if self.stop_words is not None:
            tokens = [w for w in tokens if w not in self.stop_words]
        min_n, max_n = self.min_n, self.max_n
        if max_n == 1:
            return tokens
        original = tokens
        if min_n == 1:
            tokens = list(original)
            min_n += 1
        else:
            tokens = []
        count = len(original)
        join = " ".join
        for n in range(min_n, min(max_n + 1, count + 1)):
            tokens.extend([join(original[i : i + n]) for i in range(count - n + 1)])
        return tokens


def _count_cells(row_of_hit: np.ndarray, columns: Any, n_rows: int, n_columns: int, values: np.ndarray | None = None) -> Rows:
    """CSR from column hits (hit k is in row row_of_hit[k], any order): per cell the number of hits, or the
    sum of their values (+-1.0: small integers, exact in any order); columns ascending within a row, as
    sort_indices leaves them. A cell whose values cancel (+1 -1) stays, holding 0.0: scipy's
    csr_sum_duplicates stores it, so binary then makes it 1.0 and sublinear tf makes it log(0)."""
    cells = np.asarray(row_of_hit, dtype=np.int64) * n_columns + np.asarray(columns, dtype=np.int64)
    if values is None:  # counts alone: np.unique sorts the keys instead of argsorting them (~1.8x faster)
        keys, counts = np.unique(cells, return_counts=True)
        data = counts.astype(np.float64)
    else:
        keys, inverse = np.unique(cells, return_inverse=True)
        data = np.bincount(inverse, weights=values, minlength=len(keys))
    row_of = keys // n_columns
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of, minlength=n_rows), out=indptr[1:])
    return Rows(indptr, keys - row_of * n_columns, data.astype(np.float64), n_columns)


def _terms_by_text(analyze: WordAnalyzer, texts: list[Any]) -> tuple[list[str], np.ndarray]:
    """Every text's terms and each term's text index: batched where analyze.routes allows, else text by text."""
    batched, single = analyze.routes(texts)
    terms: list[str] = []
    text_index: list[np.ndarray] = []
    if batched:
        terms, index = analyze.batch([texts[i] for i in batched])
        text_index.append(np.asarray(batched, dtype=np.int64)[index])
    if single:
        lengths = []
        for i in single:
            found = analyze(texts[i])
            terms.extend(found)
            lengths.append(len(found))
        text_index.append(np.repeat(np.asarray(single, dtype=np.int64), lengths))
    return terms, np.concatenate(text_index) if text_index else np.zeros(0, dtype=np.int64)


class CountFeatures:
    """CountVectorizer.transform (the vocabulary is fixed): counts per known term, int64 then float64."""

    def __init__(self, spec: dict[str, Any], vocabulary: list[str]) -> None:
        self.analyze = WordAnalyzer(spec)
        self.vocabulary = {term: index for index, term in enumerate(vocabulary)}
        self.binary = bool(spec["binary"])
        self.n_features = len(vocabulary)

    def transform(self, texts: list[str]) -> Rows:
        terms, text_index = _terms_by_text(self.analyze, texts)
        columns = np.fromiter(map(self.vocabulary.get, terms, repeat(-1)), dtype=np.int64, count=len(terms))
        known = columns >= 0
        rows = _count_cells(text_index[known], columns[known], len(texts), self.n_features)
        if self.binary:
            rows.data.fill(1.0)
        return rows


class HashingFeatures:
    """HashingVectorizer.transform: signed murmur3 of each term's UTF-8, summed per column (a cancelled cell kept)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.analyze = WordAnalyzer(spec)
        self.n_features = int(spec["n_features"])
        self.alternate_sign = bool(spec["alternate_sign"])
        self.binary = bool(spec["binary"])
        self.norm = spec.get("norm")

    def transform(self, texts: list[str]) -> Rows:
        terms, text_index = _terms_by_text(self.analyze, texts)
        signed = _hashes_signed(terms)
        columns = np.abs(signed) % self.n_features  # int64: abs(-2**31) is defined, as sklearn arranges
        signs = np.where(signed >= 0, 1.0, -1.0) if self.alternate_sign else np.ones(len(signed))
        rows = _count_cells(text_index, columns, len(texts), self.n_features, signs)
        if self.binary:
            rows.data.fill(1.0)
        _normalize(rows, self.norm)
        return rows


class TfidfStep:
    """TfidfTransformer.transform: log(tf) + 1, times idf per column, then row normalisation."""

    def __init__(self, spec: dict[str, Any], idf: np.ndarray | None) -> None:
        self.sublinear_tf = bool(spec["sublinear_tf"])
        self.idf = idf
        self.norm = spec.get("norm")

    def transform(self, rows: Rows) -> Rows:
        data = rows.data.copy()
        if self.sublinear_tf:
            np.log(data, data)
            data += 1.0
        if self.idf is not None:
            if len(self.idf) != rows.n_columns:
                raise LeanSpecError(f"idf has {len(self.idf)} values for {rows.n_columns} features")
            data *= self.idf[rows.indices]
        out = Rows(rows.indptr, rows.indices, data, rows.n_columns)
        _normalize(out, self.norm)
        return out


# ---------------------------------------------------------------- estimators


def expit(values: np.ndarray) -> np.ndarray:
    """scipy.special.expit: 1 / (1 + exp(-x)) with the C library's exp."""
    flat = [1.0 / (1.0 + _exp(-x)) for x in values.ravel().tolist()]
    return np.asarray(flat, dtype=np.float64).reshape(values.shape)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:  # C's exp returns inf where Python raises
        return math.inf


def softmax(scores: np.ndarray) -> np.ndarray:
    """sklearn.utils.extmath.softmax, the same numpy calls in the same order."""
    scores = scores.copy()
    max_prob = np.max(scores, axis=1).reshape((-1, 1))
    scores -= max_prob
    np.exp(scores, scores)
    sum_prob = np.sum(scores, axis=1).reshape((-1, 1))
    scores /= sum_prob
    return scores


class LinearModel:
    """decision = X @ coef.T + intercept (scipy's kernel order); labels and probabilities as sklearn's."""

    PROBA = (None, "ovr", "softmax")

    def __init__(self, spec: dict[str, Any], coef: np.ndarray, intercept: np.ndarray) -> None:
        self.proba = spec.get("proba")
        if self.proba not in self.PROBA:
            raise LeanSpecError(f"proba {self.proba!r} is not null, 'ovr' or 'softmax'")
        self.classifier = spec.get("classes") is not None
        self.classes_ = np.asarray(spec["classes"]) if self.classifier else None
        self.coef = coef  # (n_outputs, n_features), or (n_features,) for a single-output regressor
        self.intercept = intercept
        self.ravel_single = bool(spec.get("ravel_single", True))

    @property
    def n_features(self) -> int:
        return int(self.coef.shape[-1])

    def decision_function(self, rows: Rows) -> np.ndarray:
        if rows.n_columns != self.n_features:
            raise LeanSpecError(f"the features have {rows.n_columns} columns, the model {self.n_features}")
        if self.coef.ndim == 1:
            products = rows.data * self.coef[rows.indices]
        else:
            products = rows.data[:, None] * self.coef.T[rows.indices]
        scores = _row_sums(rows.indptr, products) + self.intercept
        if self.ravel_single and scores.ndim > 1 and scores.shape[1] == 1:
            scores = scores.reshape(-1)
        return scores

    def predict(self, rows: Rows) -> np.ndarray:
        return self.predict_with_proba(rows)[0]

    def predict_proba(self, rows: Rows) -> np.ndarray:
        probabilities = self.predict_with_proba(rows)[1]
        if probabilities is None:
            raise AttributeError("this model has no predict_proba")
        return probabilities

    def predict_with_proba(self, rows: Rows) -> tuple[np.ndarray, np.ndarray | None]:
        """Labels (or regression values) and probabilities from ONE decision computation."""
        scores = self.decision_function(rows)
        if not self.classifier:
            return scores, None
        indices = (scores > 0).astype(np.intp) if scores.ndim == 1 else np.argmax(scores, axis=1)
        labels = np.take(self.classes_, indices, axis=0)
        return labels, self._probabilities(scores)

    def _probabilities(self, scores: np.ndarray) -> np.ndarray | None:
        if self.proba == "softmax":  # LogisticRegression multinomial
            return softmax(np.c_[-scores, scores] if scores.ndim == 1 else scores)
        if self.proba == "ovr":  # LinearClassifierMixin._predict_proba_lr
            prob = expit(scores)
            if prob.ndim == 1:
                return np.stack([1 - prob, prob], axis=1)
            prob_sum = prob.sum(axis=1)
            all_zero = prob_sum == 0
            if np.any(all_zero):  # sklearn spreads such rows uniformly
                prob[all_zero, :] = 1
                prob_sum[all_zero] = prob.shape[1]
            prob /= np.reshape(prob_sum, (prob.shape[0], -1))
            return prob
        return None


# ---------------------------------------------------------------- loading


class LeanModel:
    __slots__ = ("transforms", "estimator", "spec")

    def __init__(self, transforms: list[Any], estimator: LinearModel, spec: dict[str, Any]) -> None:
        self.transforms = transforms  # CountFeatures | HashingFeatures, then TfidfStep or nothing
        self.estimator = estimator
        self.spec = spec

    def transform(self, texts: list[str]) -> Rows:
        features: Any = list(texts)
        for step in self.transforms:
            features = step.transform(features)
        return features


def _array(model_dir: str, spec: dict[str, Any], key: str, files: dict[str, str]) -> np.ndarray:
    name = spec.get(key)
    if not isinstance(name, str) or name not in files:
        raise LeanSpecError(f"{SPEC_NAME}: {key} must name one of the model's files, got {name!r}")
    array = np.load(files[name], allow_pickle=False)
    if array.dtype != np.float64:
        raise LeanSpecError(f"{name} holds {array.dtype}, not float64")
    return array


def load_lean(model_dir: str, files: dict[str, str]) -> LeanModel:
    """Build the predictor from lean.json and its arrays. `files` maps every model file name to its
    verified path: the caller checks every sha256 first, so nothing unverified is read here."""
    if SPEC_NAME not in files:
        raise LeanSpecError(f"the model files do not include {SPEC_NAME}")
    with open(files[SPEC_NAME], "rb") as handle:
        spec = json.load(handle)
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise LeanSpecError(f"{SPEC_NAME}: format {spec.get('format') if isinstance(spec, dict) else None!r} is not {FORMAT!r}")
    featurizer = spec["featurizer"]
    transforms: list[Any] = []
    if featurizer["type"] == "count":
        vocabulary_file = featurizer.get("vocabulary")
        if vocabulary_file not in files:
            raise LeanSpecError(f"{SPEC_NAME}: featurizer.vocabulary must name one of the model's files")
        with open(files[vocabulary_file], "rb") as handle:
            vocabulary = json.load(handle)
        if not isinstance(vocabulary, list) or not all(isinstance(t, str) for t in vocabulary):
            raise LeanSpecError(f"{vocabulary_file} must be a JSON list of terms")
        transforms.append(CountFeatures(featurizer, vocabulary))
    elif featurizer["type"] == "hashing":
        transforms.append(HashingFeatures(featurizer))
    else:
        raise LeanSpecError(f"{SPEC_NAME}: featurizer type {featurizer['type']!r} is not 'count' or 'hashing'")
    tfidf = spec.get("tfidf")
    if tfidf is not None:
        idf = _array(model_dir, tfidf, "idf", files) if tfidf.get("idf") is not None else None
        transforms.append(TfidfStep(tfidf, idf))
    estimator_spec = spec["estimator"]
    if estimator_spec.get("type") != "linear":
        raise LeanSpecError(f"{SPEC_NAME}: estimator type {estimator_spec.get('type')!r} is not 'linear'")
    estimator = LinearModel(estimator_spec, _array(model_dir, estimator_spec, "coef", files), _array(model_dir, estimator_spec, "intercept", files))
    return LeanModel(transforms, estimator, spec)


def load_lean_dir(model_dir: str) -> LeanModel:
    """load_lean over every file in model_dir (build-time proof and tests; the handler verifies first)."""
    return load_lean(model_dir, {name: os.path.join(model_dir, name) for name in os.listdir(model_dir)})
