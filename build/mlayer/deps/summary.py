"""Human and JSON summaries of a DepsBuild (what `mlayer build deps` prints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..manifest import DIRECT_UPLOAD_LIMIT, LAMBDA_UNZIPPED_LIMIT
from .layer import DepsBuild


def mb(size: int) -> str:
    """MiB, the unit of Lambda's limits (250 MiB unzipped, 50 MiB zipped direct upload)."""
    return f"{size / 2**20:.1f} MiB"


def summary_dict(build: DepsBuild) -> dict[str, Any]:
    return {
        "zip": str(build.zip_path),
        "sha256": build.sha256,
        "runtime": build.runtime.name,
        "architecture": build.architecture,
        "backend": build.backend,
        "packages": build.packages,
        "bytecode": build.bytecode,
        "slim": build.slim,
        "sizes": build.sizes,
        "slim_removed_bytes": build.slim_removed,
        "top_level_bytes": build.top_level_bytes,
        "requires_s3_upload": build.requires_s3_upload,
        "cache_hit": build.cache_hit,
        "pip_ran": build.pip_ran,
        "interpreter": str(build.interpreter) if build.interpreter else None,
        "import_check": build.import_check,
        "stage_dir": str(build.stage_dir),
        "warnings": build.warnings,
        "timings_seconds": build.timings,
    }


def summary_text(build: DepsBuild, cwd: Path | None = None) -> str:
    sizes = build.sizes
    try:
        shown = build.zip_path.resolve().relative_to((cwd or Path.cwd()).resolve())
    except ValueError:
        shown = build.zip_path
    packages = ", ".join(f"{name}=={version}" for name, version in build.packages.items())
    lines = [
        f"deps layer  {shown}",
        f"  sha256    {build.sha256}",
        f"  target    {build.runtime.name} ({build.runtime.os_name}, glibc {build.runtime.glibc[0]}.{build.runtime.glibc[1]}) "
        f"{build.architecture}, backend {build.backend}",
        f"  packages  {packages}",
        f"  raw       {mb(sizes['raw_unzipped_bytes'])} unzipped (pip install --target, no .pyc)",
        f"  layer     {mb(sizes['unzipped_bytes'])} unzipped, {mb(sizes['zipped_bytes'])} zipped, {sizes['files']} files"
        + (f", .pyc {mb(sizes['pyc_bytes'])}" if build.bytecode else ", no .pyc"),
    ]
    if build.slim_removed or sizes.get("stripped_bytes"):
        removed = ", ".join(f"{rule} {mb(size)}" for rule, size in sorted(build.slim_removed.items(), key=lambda i: -i[1]))
        lines.append(f"  slimmed   {removed}, strip {mb(sizes.get('stripped_bytes', 0))}")
    by_size = sorted(build.top_level_bytes.items(), key=lambda item: (-item[1], item[0]))
    largest = ", ".join(f"{name} {mb(size)}" for name, size in by_size[:5])
    lines.append(f"  largest   {largest}")
    left = LAMBDA_UNZIPPED_LIMIT - sizes["unzipped_bytes"]
    lines.append(f"  budget    {mb(max(left, 0))} of Lambda's {mb(LAMBDA_UNZIPPED_LIMIT)} unzipped left for the model and function")
    if left < 0:
        lines.append("  OVER      the layer alone is over Lambda's unzipped limit: keep slimming on, drop requirements, or use a container image")
    lines.append(f"  checks    glibc/CPU of {sizes.get('elf_files', 0)} ELF files ok; import {build.import_check}")
    lines.append(
        "  cache     hit: no pip work, zip copied from the cache" if build.cache_hit
        else f"  cache     built in {_build_seconds(build.timings):.1f} s (steps, some overlapping: "
             f"{', '.join(f'{k} {v:.1f}s' for k, v in build.timings.items() if k != 'total')})"
    )  # fmt: skip
    if build.requires_s3_upload:
        lines.append(
            f"  upload    {mb(sizes['zipped_bytes'])} zipped is over the {mb(DIRECT_UPLOAD_LIMIT)} direct-upload limit: "
            "Terraform must publish it through S3 (s3_bucket/s3_key), not `filename`"
        )
    return "\n".join(lines)


def _build_seconds(timings: dict[str, float]) -> float:
    """The build's wall time (its steps overlap, so not their sum); without a recorded total, the sum."""
    return timings.get("total", sum(timings.values()))
