"""Lambda's 250 MB unzipped limit is checked on what one function version really holds: the
function, a model and the deps layer that model is served with (lean or scikit-learn), as the
local runtime and the Terraform module attach them."""

from __future__ import annotations

from typing import Any

import pytest

from mlayer.errors import MlayerError
from mlayer.manifest import LAMBDA_UNZIPPED_LIMIT, check_size, total_unzipped

MB = 1_000_000


def manifest(sklearn_deps: int, lean_deps: int | None, models: dict[str, tuple[str, int]], function: int = 1 * MB) -> dict[str, Any]:
    """A manifest's size fields only: models maps NAME/VERSION to (deps_layer, unzipped bytes)."""
    built: dict[str, Any] = {
        "deps": {"unzipped_bytes": sklearn_deps},
        "function": {"unzipped_bytes": function},
        "models": {key: {"deps_layer": kind, "unzipped_bytes": size} for key, (kind, size) in models.items()},
    }
    if lean_deps is not None:
        built["deps_lean"] = {"unzipped_bytes": lean_deps}
    return built


def test_each_model_counts_with_the_deps_layer_it_is_served_with() -> None:
    # the big model is lean, so it goes with the 47 MB layer, not the 185 MB one
    mixed = manifest(185 * MB, 47 * MB, {"M/lean": ("lean", 100 * MB), "M/sklearn": ("sklearn", 10 * MB)})
    assert total_unzipped(mixed) == 1 * MB + max(47 * MB + 100 * MB, 185 * MB + 10 * MB)
    check_size(mixed)  # 196 MB: fits, although scikit-learn deps + the largest model would not (286 MB)


def test_a_lean_model_without_a_lean_layer_counts_with_the_scikit_learn_one() -> None:
    """arm64 or --predictor sklearn builds have no deps_lean: every model runs on the scikit-learn layer."""
    assert total_unzipped(manifest(185 * MB, None, {"M/lean": ("lean", 100 * MB)})) == 286 * MB


def test_the_limit_is_refused_for_the_model_that_breaks_it() -> None:
    over = manifest(185 * MB, 47 * MB, {"M/lean": ("lean", 100 * MB), "M/sklearn": ("sklearn", 80 * MB)})
    assert total_unzipped(over) == 266 * MB > LAMBDA_UNZIPPED_LIMIT
    with pytest.raises(MlayerError, match=r"^model M/sklearn with the scikit-learn deps layer and the function unzip to 266,000,000 bytes, over Lambda's"):
        check_size(over)


def test_no_models_counts_the_scikit_learn_layer() -> None:
    assert total_unzipped(manifest(185 * MB, 47 * MB, {})) == 186 * MB
