"""Export a fitted model to the lean format and prove it equal to scikit-learn, bit for bit.

Runs INSIDE the target interpreter with only the deps layer (and function/, for the lean
predictor itself) on sys.path; run by path (mlayer.model.lean_export), never imported by mlayer.
Reads on stdin:
    {"model_dir", "kind", "files": [{"file", "role"}], "out_dir", "texts": [...], "max_vocabulary_texts"}
prints one JSON line:
    {"ok": false, "refused": "<why>"}                       -- not a supported model: nothing written
    {"ok": true, "files": [...], "proof": {"exact": bool, "texts": n, "difference": null | "<one line>", ...}}
"""

import json
import os
import sys

import numpy as np

# ------------------------------------------------------------------ what is supported

CLASSIFIERS = {  # class name -> how predict_proba is computed (None: the model has none)
    "LogisticRegression": "by_classes",  # binary: expit (ovr); multiclass: softmax
    "SGDClassifier": "by_loss",
    "LinearSVC": None,
    "RidgeClassifier": None,
    "RidgeClassifierCV": None,
    "Perceptron": None,
}
REGRESSORS = ("LinearRegression", "Ridge", "SGDRegressor")
VECTORIZERS = ("CountVectorizer", "TfidfVectorizer", "HashingVectorizer")


class Refused(Exception):
    pass


def _exact_type(obj, module_prefix="sklearn."):
    cls = type(obj)
    if not cls.__module__.startswith(module_prefix):
        raise Refused("%s.%s is not a scikit-learn class (subclasses may override what the lean predictor copies)" % (cls.__module__, cls.__name__))
    return cls.__name__


def _steps(objects):
    """The chain of steps: the files in order, with any Pipeline flattened."""
    steps = []
    for obj in objects:
        if type(obj).__name__ == "Pipeline" and type(obj).__module__.startswith("sklearn."):
            steps.extend(step for _, step in obj.steps if step not in (None, "passthrough"))
        else:
            steps.append(obj)
    return steps


def _word_analyzer_spec(vectorizer, name):
    if vectorizer.analyzer != "word":
        raise Refused("%s analyzer=%r: only the word analyzer is supported (char n-grams and callables are not)" % (name, vectorizer.analyzer))
    if vectorizer.preprocessor is not None:
        raise Refused("%s has a custom preprocessor: its code cannot be exported" % name)
    if vectorizer.tokenizer is not None:
        raise Refused("%s has a custom tokenizer: its code cannot be exported" % name)
    if vectorizer.input != "content":
        raise Refused("%s input=%r: only 'content' (the texts themselves) is supported" % (name, vectorizer.input))
    if vectorizer.strip_accents not in (None, "ascii", "unicode"):
        raise Refused("%s strip_accents is a callable: its code cannot be exported" % name)
    if not isinstance(vectorizer.token_pattern, str):
        raise Refused("%s token_pattern must be a string" % name)
    if callable(vectorizer.stop_words):
        raise Refused("%s stop_words is callable" % name)
    stop_words = vectorizer.get_stop_words()
    low, high = vectorizer.ngram_range
    return {
        "lowercase": bool(vectorizer.lowercase),
        "strip_accents": vectorizer.strip_accents,
        "token_pattern": vectorizer.token_pattern,
        "stop_words": sorted(stop_words) if stop_words is not None else None,
        "ngram_range": [int(low), int(high)],
        "binary": bool(vectorizer.binary),
    }


def _export_vectorizer(vectorizer, out_dir, written):
    name = _exact_type(vectorizer)
    if name not in VECTORIZERS:
        raise Refused("the first step is %s: the lean runtime reads text with %s only" % (name, ", ".join(VECTORIZERS)))
    spec = _word_analyzer_spec(vectorizer, name)
    if name == "HashingVectorizer":
        if np.dtype(vectorizer.dtype) != np.float64:
            raise Refused("HashingVectorizer dtype=%s: only float64 is supported" % np.dtype(vectorizer.dtype))
        spec.update(type="hashing", n_features=int(vectorizer.n_features), alternate_sign=bool(vectorizer.alternate_sign), norm=vectorizer.norm)
        if spec["norm"] not in (None, "l1", "l2"):
            raise Refused("HashingVectorizer norm=%r is not l1, l2 or None" % spec["norm"])
        return spec, None
    dtype = np.dtype(vectorizer.dtype)
    if dtype not in (np.dtype(np.int64), np.dtype(np.float64)):
        raise Refused("%s dtype=%s: only int64 and float64 are supported" % (name, dtype))
    vocabulary = vectorizer.vocabulary_
    terms = [None] * len(vocabulary)
    for term, index in vocabulary.items():
        if not isinstance(term, str) or not 0 <= int(index) < len(terms) or terms[int(index)] is not None:
            raise Refused("%s vocabulary_ is not a one-to-one map of strings to 0..n-1" % name)
        terms[int(index)] = term
    _write_json(os.path.join(out_dir, "vocabulary.json"), terms)
    written.append("vocabulary.json")
    spec.update(type="count", vocabulary="vocabulary.json")
    tfidf = None
    if name == "TfidfVectorizer":
        tfidf = vectorizer._tfidf
    return spec, tfidf


def _export_tfidf(tfidf, out_dir, written):
    name = _exact_type(tfidf)
    if name != "TfidfTransformer":
        raise Refused("%s after the vectorizer: only TfidfTransformer is supported there" % name)
    if tfidf.norm not in (None, "l1", "l2"):
        raise Refused("TfidfTransformer norm=%r is not l1, l2 or None" % tfidf.norm)
    spec = {"norm": tfidf.norm, "sublinear_tf": bool(tfidf.sublinear_tf), "idf": None}
    if hasattr(tfidf, "idf_"):
        _save(out_dir, "idf.npy", tfidf.idf_, written)
        spec["idf"] = "idf.npy"
    return spec


def _proba_kind(estimator, name):
    if name in REGRESSORS:
        return None
    how = CLASSIFIERS[name]
    if how == "by_classes":
        return "ovr" if len(estimator.classes_) <= 2 else "softmax"
    if how == "by_loss":
        if estimator.loss == "log_loss":
            return "ovr"
        if estimator.loss == "modified_huber":
            raise Refused("SGDClassifier(loss='modified_huber') has a predict_proba the lean runtime does not copy")
        return None
    return None


def _export_estimator(estimator, out_dir, written):
    name = _exact_type(estimator)
    if name not in CLASSIFIERS and name not in REGRESSORS:
        raise Refused("%s is not a supported estimator (supported: %s)" % (name, ", ".join(list(CLASSIFIERS) + list(REGRESSORS))))
    coef = estimator.coef_
    if not isinstance(coef, np.ndarray) or coef.dtype != np.float64:
        raise Refused("%s coef_ is %s, not a dense float64 array (call densify() before saving)" % (name, type(coef).__name__))
    if name == "RidgeClassifier" or name == "RidgeClassifierCV":
        if estimator._label_binarizer.y_type_.startswith("multilabel"):
            raise Refused("%s was fitted on multilabel targets" % name)
    spec = {"type": "linear", "coef": "coef.npy", "intercept": "intercept.npy", "classes": None, "proba": _proba_kind(estimator, name)}
    if name in CLASSIFIERS:
        classes = estimator.classes_.tolist()
        kinds = {type(c) for c in classes}
        if not (kinds <= {str} or kinds <= {int}):
            raise Refused("%s classes_ must be all strings or all integers, got %s" % (name, sorted(k.__name__ for k in kinds)))
        spec["classes"] = classes
    _save(out_dir, "coef.npy", coef, written)
    _save(out_dir, "intercept.npy", np.asarray(estimator.intercept_, dtype=np.float64), written)
    spec["kind"] = name
    return spec


def _save(out_dir, file, array, written):
    array = np.ascontiguousarray(array)
    if array.dtype != np.float64:
        raise Refused("%s would hold %s, not float64" % (file, array.dtype))
    with open(os.path.join(out_dir, file), "wb") as handle:
        np.save(handle, array, allow_pickle=False)
    written.append(file)


def _write_json(path, value):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def export(steps, out_dir):
    """Write lean.json and its arrays; returns (spec, written files)."""
    written = []
    if len(steps) < 2:
        raise Refused("the model is one step: the lean runtime needs a text vectorizer followed by a linear estimator")
    featurizer, tfidf = _export_vectorizer(steps[0], out_dir, written)
    middle = steps[1:-1]
    if tfidf is not None and middle:
        raise Refused("TfidfVectorizer followed by %s: nothing may sit between it and the estimator" % type(middle[0]).__name__)
    if len(middle) > 1:
        raise Refused("%d steps between the vectorizer and the estimator: at most one TfidfTransformer is supported" % len(middle))
    tfidf_spec = _export_tfidf(tfidf if tfidf is not None else middle[0], out_dir, written) if (tfidf is not None or middle) else None
    estimator = _export_estimator(steps[-1], out_dir, written)
    import sklearn

    spec = {"format": "mlayer-lean/1", "featurizer": featurizer, "tfidf": tfidf_spec, "estimator": estimator, "exported_from": {"scikit-learn": sklearn.__version__, "numpy": np.__version__}}
    _write_json(os.path.join(out_dir, "lean.json"), spec)
    written.append("lean.json")
    return spec, sorted(written)


# ------------------------------------------------------------------ the proof


def _sklearn_outputs(steps, texts):
    features = list(texts)
    for step in steps[:-1]:
        features = step.transform(features)
    final = steps[-1]
    labels = final.predict(features)
    scores = final.decision_function(features) if hasattr(final, "decision_function") else None
    proba = final.predict_proba(features) if hasattr(final, "predict_proba") else None
    return labels, scores, proba


def _lean_outputs(model, texts):
    rows = model.transform(texts)
    scores = model.estimator.decision_function(rows)
    labels, proba = model.estimator.predict_with_proba(rows)
    if model.estimator.classes_ is None:
        scores = None  # regressors: the label is the score
    return labels, scores, proba


def _bits(array):
    array = np.ascontiguousarray(array, dtype=np.float64)
    return array.view(np.uint64)


def _first_difference(want, got):
    """None if equal; else (index of the first differing text, what, by how much)."""
    want_labels, want_scores, want_proba = want
    got_labels, got_scores, got_proba = got
    if want_labels.tolist() != got_labels.tolist() if want_labels.dtype.kind in "OUSi" else not np.array_equal(_bits(want_labels), _bits(got_labels)):
        index = next(i for i, (a, b) in enumerate(zip(want_labels.tolist(), got_labels.tolist())) if not (a == b or (a != a and b != b)))
        return index, "label %r (scikit-learn) != %r (lean)" % (want_labels.tolist()[index], got_labels.tolist()[index])
    for what, a, b in (("decision value", want_scores, got_scores), ("probability", want_proba, got_proba)):
        if a is None and b is None:
            continue
        if a is None or b is None or np.shape(a) != np.shape(b):
            return 0, "%s: scikit-learn gives %s, lean %s" % (what, None if a is None else np.shape(a), None if b is None else np.shape(b))
        differ = _bits(a) != _bits(b)
        if differ.any():
            index = int(np.argwhere(differ.reshape(len(a), -1).any(axis=1))[0][0])
            delta = np.nanmax(np.abs(np.asarray(a, dtype=np.float64)[index] - np.asarray(b, dtype=np.float64)[index]))
            return index, "%s differs by up to %.3g (%d of %d cells)" % (what, delta, int(differ.sum()), differ.size)
    return None


def _outcome(function, *args):
    try:
        return function(*args), None
    except Exception as exc:
        return None, "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "")


def _show(text):
    shown = json.dumps(text, ensure_ascii=True)
    return shown if len(shown) <= 70 else shown[:60] + '..." (%d chars)' % len(text)


def prove(steps, model, texts, chunk=200):
    """Compare scikit-learn and lean on every text, in chunks; a chunk that raises is redone text by text,
    and then both must raise on the same texts."""
    for start in range(0, len(texts), chunk):
        batch = texts[start : start + chunk]
        want, want_error = _outcome(_sklearn_outputs, steps, batch)
        got, got_error = _outcome(_lean_outputs, model, batch)
        if want_error is None and got_error is None:
            found = _first_difference(want, got)
            if found is not None:
                index, how = found
                return "text #%d %s: %s" % (start + index, _show(batch[index]), how)
            continue
        for offset, text in enumerate(batch):
            want, want_error = _outcome(_sklearn_outputs, steps, [text])
            got, got_error = _outcome(_lean_outputs, model, [text])
            if (want_error is None) != (got_error is None):
                return "text #%d %s: scikit-learn %s, lean %s" % (start + offset, _show(text), want_error or "predicts", got_error or "predicts")
            if want_error is None:
                found = _first_difference(want, got)
                if found is not None:
                    return "text #%d %s: %s" % (start + offset, _show(text), found[1])
    return None


def vocabulary_texts(steps, limit, seed=7):
    """The model's own terms: each alone (up to limit), all of them in texts of 40, shuffled pairs, upper-cased."""
    vocabulary = getattr(steps[0], "vocabulary_", None)
    if not vocabulary:
        return []
    terms = sorted(vocabulary, key=vocabulary.get)
    rng = np.random.default_rng(seed)
    shuffled = [terms[i] for i in rng.permutation(len(terms))]
    texts = shuffled[:limit]
    texts += [" ".join(shuffled[i : i + 40]) for i in range(0, len(shuffled), 40)]
    texts += [" ".join(shuffled[i : i + 2]).upper() for i in range(0, min(len(shuffled), limit), 2)]
    return texts


def _blobs(out_dir, written):
    """The exported files as base64: the script runs contained, and its scratch dir vanishes with it."""
    import base64

    return {name: base64.b64encode(open(os.path.join(out_dir, name), "rb").read()).decode("ascii") for name in written}


def main():
    request = json.load(sys.stdin)
    import joblib
    import tempfile

    sys.path.insert(0, request["function_dir"])
    import lean_predictor

    objects = [joblib.load(os.path.join(request["model_dir"], entry["file"])) for entry in request["files"]]
    steps = _steps(objects)
    out_dir = request.get("out_dir") or tempfile.mkdtemp(prefix="lean-", dir=os.getcwd())  # the sandbox's scratch
    try:
        spec, written = export(steps, out_dir)
    except Refused as exc:
        for name in os.listdir(out_dir):
            os.unlink(os.path.join(out_dir, name))
        print(json.dumps({"ok": False, "refused": str(exc)}))
        return
    model = lean_predictor.load_lean_dir(out_dir)
    texts = list(request["texts"]) + vocabulary_texts(steps, request["max_vocabulary_texts"])
    hashing = spec["featurizer"]["type"] == "hashing"
    hashers = ["mmh3" if lean_predictor._mmh3 is not None else "pure-python"]
    difference = prove(steps, model, texts)
    if difference is None and hashing and lean_predictor._mmh3 is not None:
        lean_predictor._mmh3 = None  # the fallback must be exact as well
        hashers.append("pure-python")
        difference = prove(steps, model, texts)
    print(json.dumps({
        "ok": True,
        "files": written,
        "blobs": _blobs(out_dir, written) if difference is None else {},
        "estimator": spec["estimator"]["kind"],
        "featurizer": spec["featurizer"]["type"],
        "proof": {"exact": difference is None, "texts": len(texts), "difference": difference, "hashers": hashers if hashing else []},
    }))  # fmt: skip


if __name__ == "__main__":
    main()
