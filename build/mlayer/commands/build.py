"""`mlayer build deps|model|function|all`: one subparser per artifact, each with its own `func`.

To add a target, write `_register_<target>(targets)` next to `_register_deps` and call it from
`register`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import MlayerError
from ..inputs import input_dir, input_file, output_dir, plain_text
from ..runtimes import ARCHITECTURES, DEFAULT_ARCHITECTURE, DEFAULT_RUNTIME, RUNTIMES
from .model import model_name, model_ref, model_version

DEFAULT_DIST = Path("dist")
FUNCTION_DIR = input_dir("function directory", "pass --function-dir pointing at the handler's source (function/)")
ARTIFACTS_DIR = input_dir("model registry", "pass --artifacts-root DIR holding NAME/VERSION/ (model_artifacts)")


def register(subparsers: argparse._SubParsersAction) -> None:
    build = subparsers.add_parser("build", help="build the layers and the function zip into dist/")
    targets = build.add_subparsers(dest="target", required=True, metavar="TARGET")
    _register_deps(targets)
    _register_model(targets)
    _register_function(targets)
    _register_all(targets)


def _register_deps(targets: argparse._SubParsersAction) -> None:
    deps = targets.add_parser(
        "deps",
        help="the dependencies layer (pinned requirements for one Lambda runtime)",
        description="Install pinned requirements for a Lambda runtime, slim, compile .pyc, check, and zip deterministically.",
    )
    _add_layer_options(deps)
    deps.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    deps.set_defaults(func=run_deps)


def run_deps(args: argparse.Namespace) -> int:
    from ..deps.summary import summary_dict, summary_text

    build = _build_deps(args)
    print(json.dumps(summary_dict(build), indent=2) if args.json else summary_text(build))
    return 0


def _add_layer_options(parser: argparse.ArgumentParser) -> None:
    """The options that decide the deps layer, shared by every target that needs one."""
    parser.add_argument("--requirements", type=input_file("requirements file", "pass --requirements FILE with pinned name==version lines (e.g. requirements/python3.12.txt)"), metavar="FILE", help="pinned requirements (default: requirements/<runtime>.txt)")
    parser.add_argument("--runtime", default=DEFAULT_RUNTIME, choices=tuple(RUNTIMES), help=f"Lambda runtime: {', '.join(RUNTIMES)} (default {DEFAULT_RUNTIME})")
    parser.add_argument("--architecture", default=DEFAULT_ARCHITECTURE, choices=tuple(ARCHITECTURES), help=f"{' or '.join(ARCHITECTURES)} (default {DEFAULT_ARCHITECTURE})")
    parser.add_argument("--backend", default="pip", choices=("pip", "docker"), help="pip: wheels only, on this host (default); docker: in a Lambda build image, sdists allowed")
    parser.add_argument("--image", type=plain_text("--image", "pass an image reference such as public.ecr.aws/sam/build-python3.12"), help="container image for --backend docker (default: the runtime's SAM build image)")
    parser.add_argument("--no-slim", dest="slim", action="store_false", help="keep tests, stubs, full dist-info, unstripped .so")
    parser.add_argument("--no-bytecode", dest="bytecode", action="store_false", help="do not compile .pyc (slower cold starts)")
    parser.add_argument("--dist", type=output_dir("--dist"), default=DEFAULT_DIST, metavar="DIR", help="output directory (default: dist)")


def _requirements(args: argparse.Namespace) -> Path:
    return args.requirements or Path("requirements") / f"{args.runtime}.txt"


def _layer_options(args: argparse.Namespace) -> dict:
    """The deps layer's keyword arguments, as build_deps_layer and build_all take them."""
    return dict(runtime=args.runtime, architecture=args.architecture, backend=args.backend, image=args.image, slim=args.slim, bytecode=args.bytecode)


def _build_deps(args: argparse.Namespace):
    from ..deps.layer import build_deps_layer

    return build_deps_layer(_requirements(args), args.dist, **_layer_options(args))


def _register_model(targets: argparse._SubParsersAction) -> None:
    model = targets.add_parser(
        "model",
        help="one registered model version as a layer (checked against the deps layer)",
        description="Check the model against the deps layer, verify hashes, load and predict its samples in the target interpreter, and zip it under /opt/model.",
    )
    model.add_argument("--name", required=True, type=model_name)
    model.add_argument("--version", required=True, type=model_version)
    model.add_argument("--artifacts-root", type=ARTIFACTS_DIR, default=Path("model_artifacts"), metavar="DIR")
    model.add_argument("--function-dir", type=FUNCTION_DIR, default=Path("function"), metavar="DIR",
                       help="the handler whose start-up checks the model (default: function)")  # fmt: skip
    _add_layer_options(model)
    _add_predictor_options(model)
    model.add_argument("--json", action="store_true", help="print the model's manifest entry as JSON")
    model.set_defaults(func=run_model)


def _add_predictor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--predictor", default="auto", choices=("auto", "lean", "sklearn"),
        help="auto (default): the numpy-only lean runtime when proven bit-identical to scikit-learn, else scikit-learn; "
        "lean: fail unless proven; sklearn: never lean",
    )
    parser.add_argument("--verify-texts", type=input_file("verification texts file", "pass a UTF-8 text file with one text per line"), metavar="FILE", help="more texts (UTF-8, one per line) the lean proof must match scikit-learn on")


def _verify_texts(args: argparse.Namespace) -> list[str] | None:
    """--verify-texts read, and --predictor checked against --architecture, before anything is built."""
    if args.predictor == "lean" and args.architecture != "x86_64":
        raise MlayerError(
            f"--predictor lean with --architecture {args.architecture}: the lean runtime is proven bit-identical on x86_64 only "
            "(fused multiply-add may round differently): use --predictor auto or sklearn, or --architecture x86_64"
        )
    from ..model.lean_corpus import read_verify_texts

    return read_verify_texts(args.verify_texts) if args.verify_texts else None


def run_model(args: argparse.Namespace) -> int:
    from ..lean_deps import build_lean_deps
    from ..model.build import build_model_layer

    texts = _verify_texts(args)
    deps = _build_deps(args)
    lean = None if args.predictor == "sklearn" else build_lean_deps(_requirements(args), args.dist, deps, **_layer_options(args))
    built = build_model_layer(
        args.name, args.version, deps, args.artifacts_root, args.dist,
        predictor=args.predictor, verify_texts=texts, lean_paths=[Path(lean.python_dir)] if lean else [], function_dir=args.function_dir,
    )
    entry = built.manifest_entry(args.dist)
    proof = built.lean.summary() if built.lean else None
    said = f"lean (proven bit-identical on {proof['corpus_texts']:,} texts)" if built.predictor == "lean" and proof else "scikit-learn"
    print(json.dumps(entry, indent=2) if args.json else f"model {args.name}/{args.version}: {built.zip_path} ({entry['zipped_bytes']:,} bytes zipped, {entry['unzipped_bytes']:,} unzipped), served by {said}")
    return 0


def _register_function(targets: argparse._SubParsersAction) -> None:
    function = targets.add_parser("function", help="the handler zip from function/")
    function.add_argument("--function-dir", type=FUNCTION_DIR, default=Path("function"), metavar="DIR")
    function.add_argument("--dist", type=output_dir("--dist"), default=DEFAULT_DIST, metavar="DIR")
    function.set_defaults(func=run_function)


def run_function(args: argparse.Namespace) -> int:
    from ..function_zip import build_function_zip

    built = build_function_zip(args.function_dir, args.dist)
    print(f"function: {built.zip_path} ({len(built.files)} files)")
    return 0


def _register_all(targets: argparse._SubParsersAction) -> None:
    everything = targets.add_parser(
        "all",
        help="deps layer + every registered model + function, then dist/manifest.json",
        description="Build the deps layer, every registered model (or --model NAME/VERSION ...), the function zip, and write dist/manifest.json.",
    )
    everything.add_argument("--artifacts-root", type=ARTIFACTS_DIR, default=Path("model_artifacts"), metavar="DIR")
    everything.add_argument("--function-dir", type=FUNCTION_DIR, default=Path("function"), metavar="DIR")
    everything.add_argument("--model", action="append", dest="models", type=model_ref, metavar="NAME/VERSION", help="build only these models (repeatable)")
    _add_layer_options(everything)
    _add_predictor_options(everything)
    everything.add_argument("--json", action="store_true", help="print the manifest on stdout")
    everything.set_defaults(func=run_all)


def run_all(args: argparse.Namespace) -> int:
    from ..build_all import build_all
    from ..manifest import load_manifest, summary_lines

    path = build_all(
        requirements=_requirements(args), artifacts_root=args.artifacts_root, function_dir=args.function_dir,
        dist_dir=args.dist, models=[f"{name}/{version}" for name, version in args.models] if args.models else None,
        predictor=args.predictor, verify_texts=_verify_texts(args), **_layer_options(args),
    )
    manifest = load_manifest(path)
    print(json.dumps(manifest, indent=2) if args.json else "\n".join(summary_lines(manifest, path)))
    return 0
