"""Every model kind the lean runtime claims, plus ones it must refuse, trained for real.

Training runs in the deps layer's interpreter (scikit-learn is not in mlayer's own venv) through
mlayer.isolated; each kind is saved with joblib as the files a user would register.
"""

from __future__ import annotations

from pathlib import Path

from mlayer.isolated import run_isolated_json
from mlayer.model.corpus import make_corpus

# name -> Python building (steps, y_kind) from `texts`; y_kind: "multi" (4+ classes), "binary", "int", "float"
KINDS: dict[str, str] = {
    "count12_tfidf_logreg_multinomial": "[CountVectorizer(ngram_range=(1, 2), min_df=2), TfidfTransformer(sublinear_tf=True), LogisticRegression(C=4.0, max_iter=1000)], 'multi'",
    "count_tfidf_logreg_binary": "[CountVectorizer(), TfidfTransformer(), LogisticRegression(max_iter=500)], 'binary'",
    "count12_tfidf_sgd_log": "[CountVectorizer(ngram_range=(1, 2)), TfidfTransformer(), SGDClassifier(loss='log_loss', random_state=0)], 'multi'",
    "hashing18_tfidf_logreg": "[HashingVectorizer(n_features=2**18), TfidfTransformer(), LogisticRegression(max_iter=500)], 'multi'",
    "tfidfvec_accents_sublinear_softmax": "[TfidfVectorizer(strip_accents='unicode', sublinear_tf=True, stop_words='english', ngram_range=(1, 3)), LogisticRegression(max_iter=500)], 'multi'",
    "hashing20_altsign_binary_sgd_hinge": "[HashingVectorizer(n_features=2**20, alternate_sign=True, binary=True, norm='l1', strip_accents='ascii', lowercase=False), SGDClassifier(loss='hinge', random_state=0)], 'multi'",
    # 8 columns: terms of one text often cancel (+1 -1) in a column; scipy keeps that cell, and binary makes it 1.0
    "hashing3_altsign_binary_logreg": "[HashingVectorizer(n_features=2**3, alternate_sign=True, binary=True, norm=None), LogisticRegression(max_iter=500)], 'multi'",
    "count_binary_linearsvc_int": "[CountVectorizer(binary=True, token_pattern=r'(?u)\\b\\w+\\b'), TfidfTransformer(norm='l1', use_idf=False), LinearSVC()], 'int'",
    # a custom token_pattern whose tokens hold spaces, joined into n-grams: "a b" + "c" and "a" + "b c" are one term
    "count12_spaced_tokens_logreg": "[CountVectorizer(token_pattern=r'(?u)\\b\\w+ \\w+\\b|\\w+', ngram_range=(1, 2)), LogisticRegression(max_iter=500)], 'multi'",
    "count_ridgeclassifier": "[CountVectorizer(ngram_range=(2, 3)), TfidfTransformer(), RidgeClassifier()], 'multi'",
    "count_perceptron_binary": "[CountVectorizer(stop_words=['the', 'a', 'my']), Perceptron(random_state=0)], 'binary'",
    "tfidfvec_linear_regression": "[TfidfVectorizer(norm=None), LinearRegression()], 'float'",
    "hashing_ridge_regression": "[HashingVectorizer(n_features=2**12, alternate_sign=False), Ridge(alpha=1.0)], 'float'",
    "pipeline_count_tfidf_logreg": "[Pipeline([('vec', CountVectorizer()), ('tfidf', TfidfTransformer()), ('clf', LogisticRegression(max_iter=500))])], 'multi'",
    # must be refused
    "refuse_char_analyzer": "[CountVectorizer(analyzer='char'), LogisticRegression(max_iter=300)], 'multi'",
    "refuse_custom_preprocessor": "[CountVectorizer(preprocessor=str.upper), LogisticRegression(max_iter=300)], 'multi'",
    "refuse_multinomial_nb": "[CountVectorizer(), MultinomialNB()], 'multi'",
    "refuse_modified_huber": "[CountVectorizer(), SGDClassifier(loss='modified_huber', random_state=0)], 'multi'",
}
SUPPORTED = [name for name in KINDS if not name.startswith("refuse_")]
REFUSED = [name for name in KINDS if name.startswith("refuse_")]

_TRAIN = r"""
import json, os, sys
import joblib
from sklearn.pipeline import Pipeline
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression, Perceptron, Ridge, RidgeClassifier, SGDClassifier
from sklearn.naive_bayes import MultinomialNB
from sklearn.svm import LinearSVC
request = json.load(sys.stdin)
texts, labels = request["texts"], request["labels"]
classes = sorted(set(labels))
out = {}
for name, code in request["kinds"].items():
    steps, y_kind = eval(code)
    if y_kind == "binary":
        y = [label == classes[0] for label in labels]
        y = ["yes" if v else "no" for v in y]
    elif y_kind == "int":
        y = [classes.index(label) for label in labels]
    elif y_kind == "float":
        y = [float(classes.index(label)) + len(text) / 100.0 for label, text in zip(labels, texts)]
    else:
        y = labels
    data = texts
    for step in steps[:-1]:
        data = step.fit_transform(data)
    steps[-1].fit(data, y)
    directory = os.path.join(request["out_dir"], name)
    os.makedirs(directory)
    files = []
    for index, step in enumerate(steps):
        if hasattr(step, "_stop_words_id"):
            del step._stop_words_id
        file = "step%d.joblib" % index
        joblib.dump(step, os.path.join(directory, file))
        files.append({"file": file, "role": "pipeline" if len(steps) == 1 else ("estimator" if index == len(steps) - 1 else "preprocessor")})
    out[name] = files
print(json.dumps(out))
"""


def train_kinds(deps, out_dir: Path, names: list[str]) -> dict[str, list[dict[str, str]]]:
    """Train the named kinds into out_dir/<name>/; returns each one's file list (file, role)."""
    tickets = make_corpus(per_class=60, seed=11)
    request = {
        "texts": [t.text for t in tickets],
        "labels": [t.label for t in tickets],
        "kinds": {name: KINDS[name] for name in names},
        "out_dir": str(out_dir),
    }
    return run_isolated_json(Path(deps.interpreter), [Path(deps.python_dir)], _TRAIN, what="training lean test models", stdin=request)


def kind_of(files: list[dict[str, str]]) -> str:
    return "pipeline" if len(files) == 1 else "steps"
