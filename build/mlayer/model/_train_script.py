"""Train the demo model. Runs INSIDE the target interpreter with only the deps layer on sys.path.

Run by path (mlayer.model.train_demo), never imported by mlayer: it imports scikit-learn, which
mlayer's own environment does not have. Reads a JSON request on stdin:
    {"out_dir", "name", "train": [[text, label], ...], "test": [[text, label], ...], "n_samples", "min_df" (optional, 2)}
writes PreProc1_<name>.joblib (CountVectorizer), PreProc2_<name>.joblib (TfidfTransformer) and
<name>.joblib (LogisticRegression) to out_dir, and prints one JSON line: versions, metrics,
samples (held-out texts with the model's own predictions) and timings.
"""

import json
import os
import sys
import time


def _held_out_samples(test, predictions, n_samples):
    """n_samples held-out texts, round-robin over the true classes so every class is represented."""
    by_class = {}
    for (text, label), predicted in zip(test, predictions):
        by_class.setdefault(label, []).append((text, predicted))
    chosen = []
    queues = [by_class[label] for label in sorted(by_class)]
    while len(chosen) < n_samples and any(queues):
        for queue in queues:
            if queue and len(chosen) < n_samples:
                chosen.append(queue.pop(0))
    return {"inputs": [text for text, _ in chosen], "expected": [label for _, label in chosen]}


def main():
    request = json.load(sys.stdin)
    started = time.perf_counter()
    import joblib
    import numpy
    import scipy
    import sklearn
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    imported = time.perf_counter()
    train_texts = [text for text, _ in request["train"]]
    train_labels = [label for _, label in request["train"]]
    test_texts = [text for text, _ in request["test"]]
    test_labels = [label for _, label in request["test"]]

    vectorizer = CountVectorizer(ngram_range=(1, 2), min_df=request.get("min_df", 2), lowercase=True)
    tfidf = TfidfTransformer(sublinear_tf=True)
    classifier = LogisticRegression(C=4.0, max_iter=1000, random_state=0)
    classifier.fit(tfidf.fit_transform(vectorizer.fit_transform(train_texts)), train_labels)
    fitted = time.perf_counter()

    predictions = classifier.predict(tfidf.transform(vectorizer.transform(test_texts))).tolist()
    majority = max(set(train_labels), key=train_labels.count)
    metrics = {
        "accuracy": round(float(accuracy_score(test_labels, predictions)), 4),
        "macro_f1": round(float(f1_score(test_labels, predictions, average="macro")), 4),
        "majority_baseline_accuracy": round(test_labels.count(majority) / len(test_labels), 4),
        "n_train": len(train_texts),
        "n_test": len(test_texts),
        "classes": sorted(set(train_labels)),
        "vocabulary_size": len(vectorizer.vocabulary_),
    }

    # CountVectorizer caches id(self.stop_words) (a memory address) as _stop_words_id, which would
    # make every dump differ. It only saves re-validating stop words on the next fit; drop it so
    # the same training gives byte-identical files.
    if hasattr(vectorizer, "_stop_words_id"):
        del vectorizer._stop_words_id
    name = request["name"]
    out_dir = request["out_dir"]
    files = [f"PreProc1_{name}.joblib", f"PreProc2_{name}.joblib", f"{name}.joblib"]
    for obj, file in zip((vectorizer, tfidf, classifier), files):
        joblib.dump(obj, os.path.join(out_dir, file))
    dumped = time.perf_counter()

    print(json.dumps({
        "files": files,
        "versions": {
            "python": "%d.%d" % sys.version_info[:2],
            "python_full": sys.version.split()[0],
            "scikit-learn": sklearn.__version__,
            "numpy": numpy.__version__,
            "scipy": scipy.__version__,
            "joblib": joblib.__version__,
        },
        "metrics": metrics,
        "samples": _held_out_samples(request["test"], predictions, request["n_samples"]),
        "timings": {
            "import_seconds": round(imported - started, 3),
            "fit_seconds": round(fitted - imported, 3),
            "dump_seconds": round(dumped - fitted, 3),
        },
    }))  # fmt: skip


if __name__ == "__main__":
    main()
