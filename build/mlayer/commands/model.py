"""`mlayer model add|list|show`: the model registry under model_artifacts/."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import MlayerError
from ..inputs import argument_type, input_dir, input_file, output_dir, plain_text
from ..model.naming import validate_name, validate_version

DEFAULT_ARTIFACTS = Path("model_artifacts")
model_name = argument_type(validate_name, "name")
model_version = argument_type(validate_version, "version")
REGISTRY = input_dir("model registry", "pass --artifacts-root DIR holding NAME/VERSION/ (model_artifacts)")
MODEL_FILE = input_file("model file", "pass the .joblib files saved with joblib.dump (or .skops files saved with skops.io.dump)")
SAMPLES_FILE = input_file("samples file", 'pass a JSON {"inputs": [...], "expected": [...]} or JSONL file to --samples')
PICKLED_VERSION = plain_text("version", "write it like 1.9.1", 32)


def register(subparsers: argparse._SubParsersAction) -> None:
    model = subparsers.add_parser("model", help="register and inspect model versions (model_artifacts/NAME/VERSION/)")
    actions = model.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser(
        "add",
        help="register .joblib files as NAME/VERSION",
        description="Register fitted scikit-learn objects saved with joblib.dump: preprocessors first, in the order they are "
        "applied, then the estimator (or a single Pipeline). The files are hashed, their scikit-learn version is read from "
        "the pickles without unpickling them, and everything lands atomically in ARTIFACTS_ROOT/NAME/VERSION/.",
    )
    add.add_argument("files", nargs="+", type=MODEL_FILE, metavar="FILE", help="e.g. PreProc1_MyModel.joblib PreProc2_MyModel.joblib MyModel.joblib")
    add.add_argument("--name", required=True, type=model_name, help="model name: a letter, then letters, digits, '_' and '-', at most 64 characters")
    add.add_argument("--version", required=True, type=model_version, help="version, e.g. 20190104v1 (letters, digits, '.', '_' and '-', at most 64)")
    add.add_argument("--samples", type=SAMPLES_FILE, metavar="FILE", help='inputs with expected outputs: JSON {"inputs": [...], "expected": [...]} or JSONL')
    add.add_argument("--artifacts-root", type=output_dir("--artifacts-root"), default=DEFAULT_ARTIFACTS, metavar="DIR", help="registry root (default: model_artifacts)")
    add.add_argument("--sklearn-version", type=PICKLED_VERSION, metavar="X.Y.Z", help="only for pickles that do not record it (scikit-learn objects do)")
    add.add_argument("--numpy-version", type=PICKLED_VERSION, metavar="X.Y.Z", help="numpy the files were pickled with (pickles do not record it)")
    add.add_argument("--scipy-version", type=PICKLED_VERSION, metavar="X.Y.Z", help="scipy the files were pickled with")
    add.add_argument("--python-version", type=PICKLED_VERSION, metavar="3.X", help="Python the files were pickled with")
    add.add_argument(
        "--trust", action="append", default=[], metavar="MODULE.NAME",
        help="also allow this global in the pickles (repeatable; e.g. your own tokenizer); recorded in metadata.json",
    )  # fmt: skip
    add.set_defaults(func=run_add)

    listing = actions.add_parser("list", help="list registered model versions")
    listing.add_argument("--artifacts-root", type=REGISTRY, default=DEFAULT_ARTIFACTS, metavar="DIR", help="registry root (default: model_artifacts)")
    listing.add_argument("--json", action="store_true", help="print JSON on stdout")
    listing.set_defaults(func=run_list)

    show = actions.add_parser("show", help="show one version's metadata")
    show.add_argument("model", type=model_ref, metavar="NAME/VERSION", help="e.g. MyModel/20190104v1")
    show.add_argument("--artifacts-root", type=REGISTRY, default=DEFAULT_ARTIFACTS, metavar="DIR", help="registry root (default: model_artifacts)")
    show.add_argument("--json", action="store_true", help="print metadata.json as is")
    show.set_defaults(func=run_show)


def run_add(args: argparse.Namespace) -> int:
    from ..model.registry import add_model

    overrides = {
        "scikit-learn": args.sklearn_version,
        "numpy": args.numpy_version,
        "scipy": args.scipy_version,
        "python": args.python_version,
    }
    path = add_model(
        args.name,
        args.version,
        args.files,
        args.artifacts_root,
        samples=args.samples,
        pickled_with_overrides={key: value for key, value in overrides.items() if value},
        trust=args.trust,
    )
    print(path)
    return 0


def _row(ref: Any, root: Path) -> dict[str, Any]:
    from ..model.registry import load_metadata

    row: dict[str, Any] = {"name": ref.name, "version": ref.version, "path": str(root / ref.name / ref.version)}
    try:
        metadata = load_metadata(root / ref.name / ref.version)
    except MlayerError as exc:
        return {**row, "problem": str(exc)}
    pickled = metadata["pickled_with"]
    return {
        **row,
        "kind": metadata["kind"],
        "files": [entry["file"] for entry in metadata["files"]],
        "bytes": sum((root / ref.name / ref.version / entry["file"]).stat().st_size for entry in metadata["files"]),
        "scikit-learn": pickled.get("scikit-learn"),
        "numpy": pickled.get("numpy"),
        "python": pickled.get("python"),
        "samples": len(metadata["samples"]["inputs"]) if metadata.get("samples") else 0,
        "created": metadata["created"],
        "problem": None,
    }


def run_list(args: argparse.Namespace) -> int:
    from ..model.registry import list_models

    root = Path(args.artifacts_root)
    rows = [_row(ref, root) for ref in list_models(root)]
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(f"no models registered under {root}: run `mlayer train-demo` or `mlayer model add --name NAME --version VERSION FILE...`")
    else:
        header = ("MODEL", "KIND", "FILES", "SIZE", "SKLEARN", "NUMPY", "PYTHON", "SAMPLES", "CREATED")
        table = [header]
        for row in rows:
            if row["problem"]:
                table.append((f"{row['name']}/{row['version']}", "BROKEN", "", "", "", "", "", "", ""))
                continue
            table.append((
                f"{row['name']}/{row['version']}", row["kind"], str(len(row["files"])), f"{row['bytes'] / 1024:.0f} KiB",
                row["scikit-learn"] or "?", row["numpy"] or "?", row["python"] or "?", str(row["samples"]), row["created"],
            ))  # fmt: skip
        widths = [max(len(line[i]) for line in table) for i in range(len(header))]
        for line in table:
            print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
        for row in rows:
            if row["problem"]:
                print(f"{row['name']}/{row['version']}: {row['problem']}")
    return 1 if any(row["problem"] for row in rows) else 0


def parse_ref(text: str) -> tuple[str, str]:
    name, sep, version = text.partition("/")
    if not sep or not name or not version:
        raise MlayerError(f"{text!r} is not NAME/VERSION: write it like MyModel/20190104v1 (see `mlayer model list`)")
    return name, version


def _checked_ref(text: str) -> tuple[str, str]:
    name, version = parse_ref(text)
    return validate_name(name), validate_version(version)


model_ref = argument_type(_checked_ref, "NAME/VERSION")


def run_show(args: argparse.Namespace) -> int:
    from ..model.registry import load_metadata, model_dir

    name, version = args.model
    directory = model_dir(args.artifacts_root, name, version)
    metadata = load_metadata(directory)
    if args.json:
        print(json.dumps(metadata, indent=2, sort_keys=True))
        return 0
    pickled = metadata["pickled_with"]
    print(f"{name}/{version}  ({metadata['kind']}, registered {metadata['created']})  {directory}")
    for index, entry in enumerate(metadata["files"], 1):
        size = (directory / entry["file"]).stat().st_size
        print(f"  {index}. {entry['role']:<12} {entry['file']:<32} {size / 1024:>8.1f} KiB  {entry.get('class') or '?'}  sha256 {entry['sha256'][:12]}")
    print("  pickled with: " + ", ".join(
        f"{key} {pickled[key] or 'unknown'} ({pickled['source'][key]})" for key in ("python", "scikit-learn", "numpy", "scipy")
    ))  # fmt: skip
    samples = metadata.get("samples")
    print(f"  samples: {len(samples['inputs'])} (checked at every build)" if samples else "  samples: none (add --samples to check predictions at build)")
    if metadata.get("metrics"):
        print("  metrics: " + ", ".join(f"{k} {v}" for k, v in metadata["metrics"].items() if not isinstance(v, (list, dict))))
    return 0
