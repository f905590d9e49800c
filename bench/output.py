"""Writing a run: <out>/<date>.json, <date>.md and <date>.png (atomically)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from mlayer.fsutil import atomic_path

from .chart import render_png
from .report import render


def _finite(value: Any) -> Any:
    """JSON has no NaN/Infinity: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_results(results: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = results["date"] + ("-quick" if results["quick"] else "")
    paths = {"json": out_dir / f"{stem}.json", "md": out_dir / f"{stem}.md", "png": out_dir / f"{stem}.png"}
    with atomic_path(paths["json"]) as tmp:
        tmp.write_text(json.dumps(_finite(results), indent=2, sort_keys=False, allow_nan=False) + "\n")
    with atomic_path(paths["md"]) as tmp:
        tmp.write_text(render(results) + "\n")
    with atomic_path(paths["png"]) as tmp:
        render_png(results, tmp.with_suffix(".png"))
        tmp.with_suffix(".png").replace(tmp)
    return paths
