"""Train small real models for the handler tests, in the target interpreter with the deps layer.

Run isolated (`python3.X -I -S`, sys.path = [deps layer python dir, tests/data]):
    main(kind, out_dir) writes the model files plus a metadata.json following the contract in
    docs/ARCHITECTURE.md, and returns the metadata.

kinds:
  guarded-pipeline  kind "pipeline": reject_poison -> TF-IDF -> LinearSVC (no predict_proba)
  steps             kind "steps": CountVectorizer, TfidfTransformer, LogisticRegression (seed-shaped)
"""

from __future__ import annotations

import hashlib
import json
import os
import platform

TEXTS = [
    "great product love it", "terrible waste of money", "works fine very happy", "broken on arrival awful",
    "excellent quality would recommend", "bad support never again", "really good value", "worst purchase ever",
]  # fmt: skip
LABELS = ["positive", "negative"] * 4
SAMPLES = ["love it great value", "awful waste of money", "excellent would recommend", "broken worst support"]


def _sha256(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def main(kind: str, out_dir: str, name: str = "TestModel", version: str = "v1") -> dict:
    import joblib
    import numpy
    import scipy
    import sklearn
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.svm import LinearSVC

    from handler_test_transforms import reject_poison

    os.makedirs(out_dir, exist_ok=True)
    texts, labels = TEXTS * 4, LABELS * 4
    if kind == "guarded-pipeline":
        model = Pipeline([
            ("guard", FunctionTransformer(reject_poison, validate=False, check_inverse=False)),
            ("tfidf", TfidfVectorizer()),
            ("svm", LinearSVC()),
        ]).fit(texts, labels)  # fmt: skip
        objects = [("model.joblib", "pipeline", model)]
        expected = model.predict(SAMPLES)
    elif kind == "steps":
        counts = CountVectorizer().fit(texts)
        tfidf = TfidfTransformer().fit(counts.transform(texts))
        clf = LogisticRegression().fit(tfidf.transform(counts.transform(texts)), labels)
        objects = [("PreProc1.joblib", "preprocessor", counts), ("PreProc2.joblib", "preprocessor", tfidf),
                   ("Model.joblib", "estimator", clf)]  # fmt: skip
        expected = clf.predict(tfidf.transform(counts.transform(SAMPLES)))
    else:
        raise ValueError(f"unknown kind {kind!r}")
    files = []
    for file_name, role, obj in objects:
        path = os.path.join(out_dir, file_name)
        joblib.dump(obj, path)
        files.append({"file": file_name, "role": role, "sha256": _sha256(path)})
    metadata = {
        "schema_version": 1,
        "name": name,
        "version": version,
        "kind": "pipeline" if kind == "guarded-pipeline" else "steps",
        "files": files,
        "pickled_with": {
            "python": ".".join(platform.python_version_tuple()[:2]),
            "scikit-learn": sklearn.__version__,
            "numpy": numpy.__version__,
            "scipy": scipy.__version__,
        },
        "created": "2026-11-25T12:00:00Z",
        "samples": {"inputs": SAMPLES, "expected": [str(label) for label in expected]},
    }
    with open(os.path.join(out_dir, "metadata.json"), "w") as handle:
        json.dump(metadata, handle, indent=2)
    return metadata
