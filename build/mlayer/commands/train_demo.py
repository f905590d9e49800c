"""`mlayer train-demo`: train the seed-shaped demo model with the deps layer's exact libraries and register it."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..inputs import input_file, output_dir
from ..runtimes import DEFAULT_RUNTIME, RUNTIMES
from .model import model_name, model_version


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-demo",
        help="train the demo text classifier (PreProc1_/PreProc2_/<Name>.joblib) and register it",
        description="Build (or reuse from the cache) the deps layer, train CountVectorizer -> TfidfTransformer -> "
        "LogisticRegression on a seeded synthetic support-ticket corpus in that runtime's Python with only the layer "
        "on sys.path, and register the three files with held-out samples and accuracy.",
    )
    parser.add_argument("--name", default="MyModel", type=model_name, help="model name (default: MyModel)")
    parser.add_argument("--version", default="20190104v1", type=model_version, help="model version (default: 20190104v1)")
    parser.add_argument("--scale", choices=("demo", "seed"), default="demo",
                        help="demo: the small default model (59 KB of pickles); seed: the same shape at the seed article's size (~7 MB)")  # fmt: skip
    parser.add_argument("--runtime", default=DEFAULT_RUNTIME, choices=tuple(RUNTIMES), help=f"Lambda runtime: {', '.join(RUNTIMES)} (default {DEFAULT_RUNTIME})")
    parser.add_argument("--requirements", type=input_file("requirements file", "pass --requirements FILE with pinned name==version lines"), metavar="FILE", help="pinned requirements (default: requirements/<runtime>.txt)")
    parser.add_argument("--artifacts-root", type=output_dir("--artifacts-root"), default=Path("model_artifacts"), metavar="DIR", help="registry root (default: model_artifacts)")
    parser.add_argument("--dist", type=output_dir("--dist"), default=Path("dist"), metavar="DIR", help="where the deps layer zip goes (default: dist)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..deps.layer import build_deps_layer
    from ..model.train_demo import train_demo

    requirements = args.requirements or Path("requirements") / f"{args.runtime}.txt"
    deps = build_deps_layer(requirements, args.dist, runtime=args.runtime)
    print(train_demo(deps, args.artifacts_root, name=args.name, version=args.version, scale=args.scale))
    return 0
