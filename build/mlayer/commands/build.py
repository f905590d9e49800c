"""`mlayer build deps|model|function|all`: one subparser per artifact, each with its own `func`.

To add a target, write `_register_<target>(targets)` next to `_register_deps` and call it from
`register`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..runtimes import ARCHITECTURES, DEFAULT_ARCHITECTURE, DEFAULT_RUNTIME, RUNTIMES

DEFAULT_DIST = Path("dist")


def register(subparsers: argparse._SubParsersAction) -> None:
    build = subparsers.add_parser("build", help="build the layers and the function zip into dist/")
    targets = build.add_subparsers(dest="target", required=True, metavar="TARGET")
    _register_deps(targets)


def _register_deps(targets: argparse._SubParsersAction) -> None:
    deps = targets.add_parser(
        "deps",
        help="the dependencies layer (pinned requirements for one Lambda runtime)",
        description="Install pinned requirements for a Lambda runtime, slim, compile .pyc, check, and zip deterministically.",
    )
    deps.add_argument("--requirements", type=Path, metavar="FILE", help="pinned requirements (default: requirements/<runtime>.txt)")
    deps.add_argument("--runtime", default=DEFAULT_RUNTIME, help=f"Lambda runtime: {', '.join(RUNTIMES)} (default {DEFAULT_RUNTIME})")
    deps.add_argument("--architecture", default=DEFAULT_ARCHITECTURE, help=f"{' or '.join(ARCHITECTURES)} (default {DEFAULT_ARCHITECTURE})")
    deps.add_argument("--backend", default="pip", help="pip: wheels only, on this host (default); docker: in a Lambda build image, sdists allowed")
    deps.add_argument("--image", help="container image for --backend docker (default: the runtime's SAM build image)")
    deps.add_argument("--no-slim", dest="slim", action="store_false", help="keep tests, stubs, full dist-info, unstripped .so")
    deps.add_argument("--no-bytecode", dest="bytecode", action="store_false", help="do not compile .pyc (slower cold starts)")
    deps.add_argument("--dist", type=Path, default=DEFAULT_DIST, metavar="DIR", help="output directory (default: dist)")
    deps.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    deps.set_defaults(func=run_deps)


def run_deps(args: argparse.Namespace) -> int:
    from ..deps.layer import build_deps_layer
    from ..deps.summary import summary_dict, summary_text

    requirements = args.requirements or Path("requirements") / f"{args.runtime}.txt"
    build = build_deps_layer(
        requirements,
        args.dist,
        runtime=args.runtime,
        architecture=args.architecture,
        backend=args.backend,
        image=args.image,
        slim=args.slim,
        bytecode=args.bytecode,
    )
    print(json.dumps(summary_dict(build), indent=2) if args.json else summary_text(build))
    return 0
