"""Artifact sizes, raw vs slimmed, zipped and unzipped, against Lambda's limits (from the manifests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlayer.manifest import DIRECT_UPLOAD_LIMIT, LAMBDA_UNZIPPED_LIMIT, load_manifest, total_unzipped

MB = 1024 * 1024
DEPS_UNZIPPED_TARGET = 200 * MB  # the slimmed deps layer, leaving room for model and function
TOTAL_UNZIPPED_TARGET = LAMBDA_UNZIPPED_LIMIT  # 250 MB: function + all layers


def _row(name: str, unzipped: int | None, zipped: int | None) -> dict[str, Any]:
    return {
        "artifact": name,
        "unzipped_bytes": unzipped,
        "zipped_bytes": zipped,
        "direct_upload_ok": None if zipped is None else zipped <= DIRECT_UPLOAD_LIMIT,
    }


def _sklearn_worst_case(manifest: dict[str, Any]) -> int:
    """Function + scikit-learn deps + the largest model: what one version holds if any model is served
    with scikit-learn (`--predictor sklearn`); the lean deps layer only ever makes it smaller."""
    largest_model = max((m["unzipped_bytes"] for m in manifest["models"].values()), default=0)
    return manifest["function"]["unzipped_bytes"] + manifest["deps"]["unzipped_bytes"] + largest_model


def measure_sizes(ours_manifest: Path, seed_manifest: Path | None = None, nopyc_sizes: dict[str, int] | None = None) -> dict[str, Any]:
    ours = load_manifest(Path(ours_manifest))
    deps = ours["deps"]
    sizes = deps.get("sizes", {})
    rows = [
        _row("deps layer, raw pip install (no .pyc)", sizes.get("raw_unzipped_bytes"), sizes.get("raw_zipped_bytes")),
        _row("deps layer, slimmed + .pyc (ours)", deps["unzipped_bytes"], deps["zipped_bytes"]),
    ]
    if nopyc_sizes:
        rows.append(_row("deps layer, slimmed, no .pyc", nopyc_sizes.get("unzipped_bytes"), nopyc_sizes.get("zipped_bytes")))
    for key, model in sorted(ours["models"].items()):
        rows.append(_row(f"model layer {key}", model["unzipped_bytes"], model["zipped_bytes"]))
    rows.append(_row("function (ours)", ours["function"]["unzipped_bytes"], ours["function"]["zipped_bytes"]))
    if seed_manifest is not None:
        seed = load_manifest(Path(seed_manifest))
        rows.append(_row("function (seed-style)", seed["function"]["unzipped_bytes"], seed["function"]["zipped_bytes"]))
    total = _sklearn_worst_case(ours)
    rows.append(_row("total: scikit-learn deps + largest model + function", total, None))
    if ours.get("deps_lean"):
        rows.append(_row("total: largest version as served (lean deps for lean models)", total_unzipped(ours), None))
    return {
        "rows": rows,
        "deps_unzipped_bytes": deps["unzipped_bytes"],
        "total_unzipped_bytes": total,
        "limits": {
            "unzipped_bytes": LAMBDA_UNZIPPED_LIMIT,
            "direct_upload_zipped_bytes": DIRECT_UPLOAD_LIMIT,
            "deps_unzipped_target_bytes": DEPS_UNZIPPED_TARGET,
        },
        "headroom_bytes": LAMBDA_UNZIPPED_LIMIT - total,
    }
