"""Decide a model's kind and each file's role from the pickles' top-level classes.

One file holding a `Pipeline` -> kind "pipeline". Otherwise kind "steps": the files are applied in
the order given, every one but the last is a preprocessor (transform) and the last the estimator
(predict), as in the seed (PreProc1_MyModel, PreProc2_MyModel, MyModel).

The class tells us when that order is plainly wrong, without importing anything: scikit-learn's
module layout separates transformers (feature_extraction, preprocessing, ...) from predictors
(linear_model, ensemble, ...), so "the last file is a vectorizer and an earlier one a classifier"
is caught at `model add` rather than as a confusing error on Lambda.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import MlayerError
from .pickle_scan import PickleScan

TRANSFORMER_MODULES = (
    "sklearn.feature_extraction", "sklearn.preprocessing", "sklearn.feature_selection", "sklearn.decomposition",
    "sklearn.impute", "sklearn.random_projection", "sklearn.kernel_approximation",
)  # fmt: skip
PREDICTOR_MODULES = (
    "sklearn.linear_model", "sklearn.ensemble", "sklearn.tree", "sklearn.svm", "sklearn.naive_bayes",
    "sklearn.neighbors", "sklearn.neural_network", "sklearn.discriminant_analysis", "sklearn.dummy",
    "sklearn.calibration", "sklearn.multiclass", "sklearn.multioutput", "sklearn.gaussian_process",
)  # fmt: skip


def _in(module_prefixes: tuple[str, ...], dotted: str | None) -> bool:
    return dotted is not None and any(dotted == p or dotted.startswith(p + ".") for p in module_prefixes)


def is_transformer_class(dotted: str | None) -> bool:
    return _in(TRANSFORMER_MODULES, dotted)


def is_predictor_class(dotted: str | None) -> bool:
    return _in(PREDICTOR_MODULES, dotted)


def check_loadable_on_lambda(file: str, scan: PickleScan) -> None:
    """Refuse what can never load on Lambda: classes defined in a script or notebook, bare containers."""
    if scan.main_globals:
        raise MlayerError(
            f"{file} references {', '.join(scan.main_globals[:3])}, defined in the script or notebook that saved it, "
            "which Lambda cannot import: move that code into a module, ship it in the deps layer, and dump again"
        )
    if scan.top_class and scan.top_class.startswith("builtins."):
        raise MlayerError(
            f"{file} holds a {scan.top_class.removeprefix('builtins.')}, not a fitted estimator: "
            "dump each step on its own (or one sklearn Pipeline) with joblib.dump"
        )


def assign_roles(files: Sequence[str], scans: Sequence[PickleScan]) -> tuple[str, list[str]]:
    """(kind, role per file) for files given in application order."""
    if len(files) == 1 and scans[0].is_pipeline:
        return "pipeline", ["pipeline"]
    roles = ["preprocessor"] * (len(files) - 1) + ["estimator"]
    last = scans[-1].top_class
    if is_transformer_class(last):
        kind_of_last = f"{files[-1]} is a {last.rsplit('.', 1)[-1]} (a transformer, no predict())"
        predictors = [f for f, s in zip(files[:-1], scans[:-1]) if is_predictor_class(s.top_class)]
        if predictors:
            raise MlayerError(
                f"the files look out of order: the last one, {kind_of_last}, but {predictors[0]} is a predictor: "
                "list the preprocessors first, in the order they are applied, and the estimator last"
            )
        raise MlayerError(
            f"no estimator: the last file, {kind_of_last}: add the fitted estimator's file last "
            "(preprocessors first, in the order they are applied)"
        )
    for file, scan in zip(files[:-1], scans[:-1]):
        if scan.is_pipeline and scan.pipeline_steps and is_predictor_class(scan.pipeline_steps[-1]):
            raise MlayerError(
                f"{file} is a Pipeline ending in a predictor ({scan.pipeline_steps[-1].rsplit('.', 1)[-1]}) but is listed as a preprocessor: "
                "register it alone (kind pipeline) or list it last"
            )
    return "steps", roles
