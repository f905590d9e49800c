"""`mlayer deploy`: build (cached), then terraform init / plan / apply in an environment's root.

The root is examples/<env> (or --dir): a Terraform configuration calling this repository's
module. The plan is saved, summarised from `terraform show -json`, and applied exactly as
shown. Nothing is applied without --auto-approve or a "yes" on a terminal.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import MlayerError
from .manifest import load_manifest
from .terraform import (
    PlanSummary,
    Terraform,
    declared_variables,
    get_terraform,
    provider_fix_hint,
    provider_install_failed,
    summarize_plan,
    use_provider_mirror,
)

_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass
class DeployOptions:
    env: str
    project_dir: Path = field(default_factory=Path.cwd)
    root_dir: Path | None = None  # default: project_dir/examples/<env>
    manifest: Path | None = None  # an existing manifest: skips the build
    dist_dir: Path | None = None  # default: project_dir/dist
    runtime: str = "python3.12"
    architecture: str = "x86_64"
    model_version: str | None = None
    canary_model_version: str | None = None
    canary_weight: float | None = None
    variables: dict[str, str] = field(default_factory=dict)
    plan_only: bool = False
    auto_approve: bool = False
    terraform_bin: str | None = None


@dataclass
class DeployResult:
    root_dir: Path
    manifest: Path
    plan: PlanSummary
    applied: bool
    outputs: dict[str, Any]


def parse_var(text: str) -> tuple[str, str]:
    """KEY=VALUE from --var."""
    key, sep, value = text.partition("=")
    if not sep or not _VAR_NAME.match(key):
        raise MlayerError(f"--var expects KEY=VALUE with a Terraform variable name, got {text!r}")
    return key, value


def resolve_root(opts: DeployOptions) -> Path:
    root = (opts.root_dir or opts.project_dir / "examples" / opts.env).resolve()
    if not root.is_dir() or not any(root.glob("*.tf")):
        raise MlayerError(f"no Terraform configuration in {root}: use --env with a directory under examples/ (dev, prod, complete) or pass --dir")
    return root


def build_manifest(opts: DeployOptions, out: Callable[[str], None]) -> Path:
    """The manifest to deploy: the given one, or a fresh (cached) `build all`."""
    if opts.manifest is not None:
        path = opts.manifest.resolve()
        load_manifest(path)  # fails with the fix if missing or stale
        return path
    try:
        from .build_all import build_all
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.build_all":
            raise
        raise MlayerError("this mlayer cannot build (no mlayer.build_all): pass --manifest dist/manifest.json from `mlayer build all`") from None
    project = opts.project_dir
    requirements = project / "requirements" / f"{opts.runtime}.txt"
    if not requirements.is_file():
        raise MlayerError(f"{requirements} is missing: run deploy from the project directory or pass --manifest")
    out(f"mlayer deploy: building {opts.runtime} {opts.architecture} artifacts (cached)")
    return Path(
        build_all(
            requirements=requirements,
            artifacts_root=project / "model_artifacts",
            function_dir=project / "function",
            dist_dir=opts.dist_dir or project / "dist",
            runtime=opts.runtime,
            architecture=opts.architecture,
        )
    ).resolve()


def check_model(manifest: Mapping[str, Any], path: Path, version: str | None, name: str | None) -> None:
    """Fail early (before Terraform) when the requested model version was never built."""
    if version is None:
        return
    keys = sorted(manifest.get("models", {}))
    if name is not None:
        wanted = f"{name}/{version}"
        found = wanted in keys
    else:
        wanted = f"*/{version}"
        found = any(key.rsplit("/", 1)[-1] == version for key in keys)
    if not found:
        raise MlayerError(f"model {wanted} is not in the manifest {path}: run mlayer build all (built: {', '.join(keys) or 'none'})")


def terraform_variables(opts: DeployOptions, root: Path, manifest: Path, declared: set[str], live_version: str | None) -> dict[str, str]:
    wanted: dict[str, str] = {"manifest_path": str(manifest)}
    if opts.model_version is not None:
        wanted["model_version"] = opts.model_version
    if opts.canary_model_version is not None:
        wanted["canary_model_version"] = opts.canary_model_version
        if live_version is not None:
            wanted["stable_function_version"] = live_version
    if opts.canary_weight is not None:
        wanted["canary_weight"] = repr(opts.canary_weight)
    for optional in ("runtime", "architecture"):
        if optional in declared:
            wanted[optional] = getattr(opts, optional)
    for key in wanted:
        if key not in declared:
            raise MlayerError(f"{root} declares no variable {key!r}: add it (and pass it to the module) or drop the flag that sets it")
    wanted.update(opts.variables)  # explicit --var wins
    return wanted


def _run(tf: Terraform, command: str, args: list[str], root: Path, what: str) -> str:
    result = tf.run(command, args, root)
    if not result.ok:
        raise MlayerError(f"terraform {command} failed in {root} ({what}): {result.first_error()}")
    return result.stdout


def terraform_init(tf: Terraform, root: Path) -> None:
    result = tf.run("init", ["-input=false", "-no-color"], root)
    if result.ok:
        return
    if provider_install_failed(result):
        raise MlayerError(f"terraform init in {root} could not install the hashicorp/aws provider: {provider_fix_hint()}")
    raise MlayerError(f"terraform init failed in {root}: {result.first_error()}")


def current_outputs(tf: Terraform, root: Path) -> dict[str, Any]:
    result = tf.run("output", ["-json", "-no-color"], root)
    if not result.ok or not result.stdout.strip():
        return {}
    return {name: value.get("value") for name, value in json.loads(result.stdout).items()}


def stable_version_for_canary(outputs: Mapping[str, Any], opts: DeployOptions) -> str:
    """The published version the alias serves now, checked to carry the stable model the canary keeps."""
    live_version = outputs.get("live_function_version")
    if live_version is None:
        raise MlayerError(
            f"a canary needs a deployed live version to keep: deploy first (mlayer deploy --env {opts.env}), or pass --var stable_function_version=N"
        )
    stable = opts.variables.get("model_version", opts.model_version)
    live_model = str(outputs.get("model") or "")
    if stable is not None and live_model and live_model.rsplit("/", 1)[-1] != stable:
        raise MlayerError(
            f"the live version {live_version} serves {live_model}, not model version {stable}: "
            f"start the canary with --model-version {live_model.rsplit('/', 1)[-1]} (the model it keeps serving)"
        )
    return str(live_version)


def _confirm_on_terminal(prompt: str) -> bool:
    if not sys.stdin.isatty():
        raise MlayerError("refusing to apply without confirmation: stdin is not a terminal, pass --auto-approve")
    return input(prompt).strip().lower() in ("y", "yes")


def deploy(
    opts: DeployOptions,
    out: Callable[[str], None] = print,
    confirm: Callable[[str], bool] = _confirm_on_terminal,
    terraform: Terraform | None = None,
) -> DeployResult:
    root = resolve_root(opts)
    declared = declared_variables(root)
    for key, _ in opts.variables.items():
        if key not in declared:
            raise MlayerError(f"--var {key}=...: {root} declares no variable {key!r}")
    manifest_path = build_manifest(opts, out)
    manifest = load_manifest(manifest_path)
    check_model(manifest, manifest_path, opts.variables.get("model_version", opts.model_version), opts.variables.get("model_name"))
    check_model(manifest, manifest_path, opts.canary_model_version, opts.variables.get("model_name"))

    tf = terraform or get_terraform(opts.terraform_bin)
    mirror = use_provider_mirror(opts.project_dir)
    if mirror is not None:
        out(f"mlayer deploy: hashicorp/aws from the filesystem mirror {mirror} (TF_CLI_CONFIG_FILE={os.environ['TF_CLI_CONFIG_FILE']})")
    out(f"mlayer deploy: {opts.env}: terraform init in {root} ({tf.name})")
    terraform_init(tf, root)

    live_version = None
    if opts.canary_model_version is not None and "stable_function_version" not in opts.variables:
        live_version = stable_version_for_canary(current_outputs(tf, root), opts)
    variables = terraform_variables(opts, root, manifest_path, declared, live_version)

    plan_file = root / ".terraform" / f"mlayer-{opts.env}.tfplan"
    plan_file.parent.mkdir(parents=True, exist_ok=True)
    args = ["-input=false", "-no-color", f"-out={plan_file}"]
    for key, value in variables.items():
        args += ["-var", f"{key}={value}"]
    out(f"mlayer deploy: {opts.env}: terraform plan ({', '.join(f'{k}={v}' for k, v in variables.items() if k != 'manifest_path')})")
    _run(tf, "plan", args, root, "plan")
    plan_json = _run(tf, "show", ["-json", "-no-color", str(plan_file)], root, "reading the saved plan")
    summary = summarize_plan(json.loads(plan_json))
    out(summary.render())

    applied = False
    if opts.plan_only:
        out(f"mlayer deploy: {opts.env}: plan only, nothing applied (plan saved to {plan_file})")
    elif summary.empty:
        out(f"mlayer deploy: {opts.env}: no changes")
    elif opts.auto_approve or confirm(f"Apply these changes to {opts.env}? [y/N] "):
        _run(tf, "apply", ["-input=false", "-no-color", str(plan_file)], root, "apply")
        applied = True
    else:
        out(f"mlayer deploy: {opts.env}: not applied")

    outputs = current_outputs(tf, root) if applied else {}
    for key in ("model", "canary_model", "deps_layer_kind", "canary_deps_layer_kind", "function_version", "live_function_version", "canary_function_version", "alias_arn", "stream_name"):
        if outputs.get(key) is not None:
            out(f"  {key} = {outputs[key]}")
    return DeployResult(root, manifest_path, summary, applied, outputs)
