"""What `mlayer build model` prints: one line for people, or a dict for --json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..zipper import unzipped_size
from .build import ModelBuild


def summary_dict(build: ModelBuild) -> dict[str, Any]:
    return {
        **build.manifest_entry(Path(build.zip_path).parent),
        "kind": build.metadata["kind"],
        "pickled_with": build.metadata["pickled_with"],
        "verification": {
            "status": build.verification.status,
            "samples": build.verification.samples,
            "cache_hit": build.verification.cache_hit,
            "timings": build.verification.timings,
        },
        "warnings": build.warnings,
        "timings": build.timings,
    }


def summary_text(build: ModelBuild) -> str:
    zipped = build.zip_path.stat().st_size
    check = build.verification.status
    if check == "passed":
        check = f"{build.verification.samples} samples passed" if build.verification.samples else "loaded (no samples)"
        check += " with the deps layer" + (" (cached)" if build.verification.cache_hit else "")
    return (
        f"model {build.name}/{build.version} -> {build.zip_path} ({zipped / 1024:.1f} KiB zipped, "
        f"{unzipped_size(build.zip_path) / 1024:.1f} KiB unzipped, {len(build.files)} files under model/): "
        f"{check}; {_served_by(build)}; {build.timings['total_seconds']:.2f} s"
    )


def _served_by(build: ModelBuild) -> str:
    if build.predictor == "lean" and build.lean is not None:
        return f"served lean (numpy only; bit-identical to scikit-learn on {build.lean.texts:,} texts)"
    why = f": {build.lean.reason}" if build.lean is not None and build.lean.reason else ""
    return f"served by scikit-learn{why}"
