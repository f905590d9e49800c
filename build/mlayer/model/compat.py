"""Can this deps layer load this model? Checked from metadata.json before anything is run.

* scikit-learn: the EXACT version must match. scikit-learn does not support loading a pickle made by
  another release (it warns InconsistentVersionWarning, and estimators' internals do change).
* numpy: the same MAJOR version (numpy 2 changed module paths and the C ABI pickled arrays rely on).
* Python: a different minor version than the runtime's is a warning: pickles themselves are portable
  across Python 3 minors, but a model is best tested on the Python it will run on.
An unknown version (null in metadata.json) is a warning: the load-and-samples check still runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import MlayerError
from ..runtimes import Runtime
from .provenance import major, python_minor


def _fix(runtime: Runtime, pin: str) -> str:
    return (
        f"retrain with the layer's versions (`mlayer train-demo` / your pipeline pinned to requirements/{runtime.name}.txt) "
        f"or pin the layer to the model's {pin}"
    )


def check_compatibility(metadata: Mapping[str, Any], packages: Mapping[str, str], runtime: Runtime) -> list[str]:
    """Raise MlayerError on a version the layer cannot load; return warnings for the rest."""
    model = f"{metadata['name']}/{metadata['version']}"
    pickled = metadata["pickled_with"]
    warnings: list[str] = []

    layer_sklearn = packages.get("scikit-learn")
    model_sklearn = pickled.get("scikit-learn")
    if layer_sklearn is None:
        raise MlayerError(
            f"the {runtime.name} deps layer has no scikit-learn, so it cannot load {model}: "
            f"add scikit-learn=={model_sklearn or 'X.Y.Z'} to requirements/{runtime.name}.txt"
        )
    if model_sklearn is None:
        warnings.append(f"{model}: the scikit-learn version it was pickled with is unknown; relying on the load and samples check")
    elif model_sklearn != layer_sklearn:
        raise MlayerError(
            f"{model} was pickled with scikit-learn {model_sklearn} but the {runtime.name} deps layer has scikit-learn {layer_sklearn}: "
            + _fix(runtime, f"scikit-learn=={model_sklearn}")
        )

    layer_numpy = packages.get("numpy")
    model_numpy = pickled.get("numpy")
    if model_numpy is None:
        warnings.append(f"{model}: the numpy version it was pickled with is unknown; pass --numpy-version to `mlayer model add` to have it checked")
    elif layer_numpy is None:
        raise MlayerError(
            f"{model} was pickled with numpy {model_numpy} but the {runtime.name} deps layer has no numpy: "
            f"add numpy=={model_numpy if '.' in model_numpy else model_numpy + '.x'} to requirements/{runtime.name}.txt"
        )
    elif major(model_numpy) != major(layer_numpy):
        raise MlayerError(
            f"{model} was pickled with numpy {model_numpy} (major {major(model_numpy)}) but the {runtime.name} deps layer has numpy "
            f"{layer_numpy} (major {major(layer_numpy)}): " + _fix(runtime, f"numpy {major(model_numpy)}.x")
        )

    model_python = pickled.get("python")
    if model_python is not None and python_minor(model_python) != runtime.python_version:
        warnings.append(
            f"{model} was pickled with Python {model_python} but {runtime.name} runs Python {runtime.python_version}: "
            f"its samples are checked on Python {runtime.python_version} next; retrain on {runtime.python_version} to be safe"
        )
    return warnings
