"""`mlayer deploy --env dev --auto-approve` end to end against moto, then what it deployed, run.

The deploy is README.md's moto path, run by bash line for line in a copy of the project (real
deps build from the shared cache, the demo model, the handler), with the real provider. Two
substitutions only: a free port for 5000 and this interpreter's bin/ for .venv/bin/.
moto cannot run Lambda code without Docker, so the deployed function is run in mlayer's local
runtime with exactly the configuration moto holds: handler, runtime, memory, timeout,
environment and layers (in their order), downloaded from the artifact bucket by their CodeSha256.
The demo model is proven lean at build, so what is deployed and run is the lean runtime: the
numpy-only deps layer the module attached, with the lean model layer.

Records for the deployed stream: moto 5.2 answers PutRecords with HTTP 500 once an event source
mapping exists (it tries to invoke the function). While it does, the Kinesis event is built from
the deployed stream's ARN and shard ids with mlayer.replay.kinesis, exactly as Lambda's poller
shapes it; test_moto_still_fails_put_records_on_a_mapped_stream fails once moto stops, and then
the records go through moto's stream (read back with GetRecords) instead.
"""

from __future__ import annotations

import base64
import contextlib
import json
import hashlib
import os
import signal
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from conftest import DEMO_MODEL_NAME, DEMO_MODEL_VERSION, REPO, free_port
from mlayer.demo.moto_tls import TlsMoto
from mlayer.demo.records import ingest_records
from mlayer.manifest import MANIFEST_NAME, artifact_entry, empty_manifest, write_manifest
from mlayer.replay.kinesis import StreamRecord, kinesis_event, put_records
from mlayer.replay.records import normalize
from mlayer.replay.sinks import INVALID_FOLDER
from mlayer.terraform import CLI_CONFIG_DIR, find_provider_mirror
from test_deploy import copy_terraform_tree

FUNCTION = "mlayer-dev-inference"
RECORDS, MALFORMED_FRACTION = 240, 0.05


@pytest.fixture(scope="module")
def dev_project(tmp_path_factory: pytest.TempPathFactory, demo_artifacts: Path) -> Path:
    """A fresh project: the Terraform tree, requirements, the handler and the demo model."""
    root = copy_terraform_tree(tmp_path_factory.mktemp("dev") / "project")
    shutil.copytree(REPO / "requirements", root / "requirements")
    shutil.copytree(REPO / "function", root / "function", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(demo_artifacts, root / "model_artifacts")
    return root


README_MARKER = "<!-- moto-path: tests/test_terraform_deployed.py runs these lines -->"


def readme_moto_path() -> str:
    """The sh block under the marker in README.md."""
    text = (REPO / "README.md").read_text()
    block = text.split(README_MARKER, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert "mlayer deploy --env dev --auto-approve --var sink=s3" in block and "127.0.0.1:5000" in block
    return block


@pytest.fixture(scope="module")
def deployed(dev_project: Path, deps_build) -> Iterator[tuple[subprocess.CompletedProcess, TlsMoto]]:
    """README's moto path, then the server it started (stopped by the pid it wrote); deps_build warms the cache."""
    port = free_port()
    script = readme_moto_path().replace("127.0.0.1:5000", f"127.0.0.1:{port}").replace("--port 5000", f"--port {port}")
    script = script.replace(".venv/bin/", f"{Path(sys.executable).parent}/")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    if Path(env.get("TF_CLI_CONFIG_FILE", "/")).parent.name == CLI_CONFIG_DIR:
        env.pop("TF_CLI_CONFIG_FILE")  # the session's config: let deploy find the mirror itself, as a user's shell would
    proc = subprocess.run(["bash", "-euc", script], cwd=dev_project, env=env, capture_output=True, text=True, timeout=1800)
    moto = TlsMoto(f"https://127.0.0.1:{port}", None, dev_project / ".moto" / "ca.pem")
    try:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
        yield proc, moto
    finally:
        pid_file = dev_project / ".moto" / "pid"
        if pid_file.is_file():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGTERM)


def aws(service: str, moto) -> Any:
    return boto3.client(service, endpoint_url=moto.endpoint, verify=str(moto.ca_file), region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def test_readme_moto_path_deploys_dev_end_to_end(deployed) -> None:
    proc, tls_moto = deployed
    out = proc.stdout
    assert "mlayer deploy: building python3.12 x86_64 artifacts (cached)" in out
    if find_provider_mirror() is not None:
        assert f"mlayer deploy: hashicorp/aws from the filesystem mirror {find_provider_mirror()}" in out
    assert "mlayer deploy: dev: terraform init in" in out
    headline = next(line for line in out.splitlines() if line.startswith("Plan: "))
    assert headline.endswith(" to add, 0 to change, 0 to destroy."), headline
    assert f"  model = {DEMO_MODEL_NAME}/{DEMO_MODEL_VERSION}" in out and "  live_function_version = 1" in out
    assert "  deps_layer_kind = lean" in out
    lam = aws("lambda", tls_moto)
    assert lam.get_alias(FunctionName=FUNCTION, Name="live")["FunctionVersion"] == "1"
    config = lam.get_function_configuration(FunctionName=FUNCTION, Qualifier="1")
    assert config["Environment"]["Variables"]["MODEL_VERSION"] == DEMO_MODEL_VERSION
    # the demo model is lean: the numpy-only deps layer is attached; the scikit-learn one is published beside it
    assert [layer["Arn"].split(":")[-2] for layer in config["Layers"]] == ["mlayer-dev-deps-lean", f"mlayer-dev-model-{DEMO_MODEL_NAME}"]
    assert {"mlayer-dev-deps", "mlayer-dev-deps-lean"} <= {layer["LayerName"] for layer in lam.list_layers()["Layers"]}


# --- what was deployed, run ---------------------------------------------------------------------


def _download(s3, bucket: str, prefix: str, sha256_base64: str, dest: Path) -> Path:
    """The content-addressed zip under prefix whose sha256 is the one Lambda reports; verified."""
    hex_digest = base64.b64decode(sha256_base64).hex()
    key = f"{prefix}/{hex_digest}.zip"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hex_digest, key
    dest.write_bytes(body)
    return dest


def deployed_manifest(moto, config: dict[str, Any], dist: Path) -> Path:
    """A manifest over the zips Lambda holds for this configuration (deps layer, model layer, function)."""
    lam, s3 = aws("lambda", moto), aws("s3", moto)
    env = config["Environment"]["Variables"]
    bucket = env["SINK_S3_BUCKET"]  # dev's S3 sink is its artifact bucket
    dist.mkdir(parents=True, exist_ok=True)
    # GetLayerVersionByArn answers 500 on moto 5.2; the name and number in the ARN say the same.
    layers = [lam.get_layer_version(LayerName=layer["Arn"].split(":")[-2], VersionNumber=int(layer["Arn"].split(":")[-1])) for layer in config["Layers"]]
    names = [layer["LayerVersionArn"].split(":")[-2] for layer in layers]
    # The local runtime extracts the deps layer, then the model layer, into /opt: the deployed order must be that.
    # The demo model is lean, so its deps layer is the lean one.
    assert names == ["mlayer-dev-deps-lean", f"mlayer-dev-model-{env['MODEL_NAME']}"], names
    deps_zip, model_zip = (_download(s3, bucket, f"layers/{name}", layer["Content"]["CodeSha256"], dist / f"{name}.zip") for name, layer in zip(names, layers))
    function_zip = _download(s3, bucket, f"functions/{config['FunctionName']}", config["CodeSha256"], dist / "function.zip")
    manifest = empty_manifest()
    manifest["deps"] = artifact_entry(deps_zip, dist, runtime=config["Runtime"], architecture=config["Architectures"][0], packages={}, bytecode=True, sizes={})
    manifest["function"] = artifact_entry(function_zip, dist, handler=config["Handler"])
    key = f"{env['MODEL_NAME']}/{env['MODEL_VERSION']}"
    manifest["models"][key] = artifact_entry(model_zip, dist, name=env["MODEL_NAME"], version=env["MODEL_VERSION"], files={})
    path = dist / MANIFEST_NAME
    write_manifest(path, manifest)
    return path


def put_into_moto(kinesis, stream: str, records: list[bytes]) -> bool:
    """Put the records into the deployed stream; False when moto answers with its 500 (a mapping exists)."""
    try:
        kinesis.put_records(StreamName=stream, Records=[{"Data": data, "PartitionKey": str(i)} for i, data in enumerate(records)])
    except botocore.exceptions.ClientError as exc:
        if exc.response["ResponseMetadata"]["HTTPStatusCode"] == 500:
            return False
        raise
    return True


def test_moto_still_fails_put_records_on_a_mapped_stream(deployed) -> None:
    """The allowance below: fails once moto accepts PutRecords on a stream with a mapping."""
    tls_moto = deployed[1]
    assert put_into_moto(aws("kinesis", tls_moto), "mlayer-dev-records", [b'{"textblob": "\\"probe\\""}']) is False, (
        "moto now accepts PutRecords on a mapped stream: feed the round trip through moto's stream (GetRecords)"
    )


@pytest.fixture
def moto_for_the_function(deployed, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The local runtime passes AWS_ENDPOINT_URL and credentials through (as it does for the demo)."""
    tls_moto = deployed[1]
    for key, value in tls_moto.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", tls_moto.endpoint)
    yield tls_moto


def test_deployed_function_runs_with_its_deployed_configuration(moto_for_the_function, tmp_path: Path) -> None:
    from mlayer.runtime import ExecutionEnvironment

    moto = moto_for_the_function
    lam, kinesis = aws("lambda", moto), aws("kinesis", moto)
    version = lam.get_alias(FunctionName=FUNCTION, Name="live")["FunctionVersion"]
    config = lam.get_function_configuration(FunctionName=FUNCTION, Qualifier=version)
    env = config["Environment"]["Variables"]
    assert (env["RECORD_FORMAT"], env["TEXT_FIELD"], env["TEXT_FIELD_JSON_ENCODED"], env["INVALID_RECORDS"]) == ("json", "textblob", "true", "dead-letter")
    manifest = deployed_manifest(moto, config, tmp_path / "deployed")
    deployed_dist = json.loads(manifest.read_text())
    # what runs below is the lean runtime: numpy without scikit-learn or scipy, and a lean (pickle-free) model
    with zipfile.ZipFile(manifest.parent / deployed_dist["deps"]["file"]) as deps_zip:
        packages = {name.split("/")[1] for name in deps_zip.namelist() if name.startswith("python/") and name.count("/") > 1}
    assert "numpy" in packages and not {"sklearn", "scipy"} & packages, sorted(packages)
    with zipfile.ZipFile(manifest.parent / next(iter(deployed_dist["models"].values()))["file"]) as model_zip:
        assert json.loads(model_zip.read("model/metadata.json"))["kind"] == "lean"

    stream_name = "mlayer-dev-records"
    described = kinesis.describe_stream(StreamName=stream_name)["StreamDescription"]
    shard_ids = [shard["ShardId"] for shard in described["Shards"]]
    mapping = lam.list_event_source_mappings(FunctionName=f"{config['FunctionArn'].rsplit(':', 1)[0]}:live")["EventSourceMappings"][0]
    assert mapping["EventSourceArn"] == described["StreamARN"]
    records, malformed = ingest_records(RECORDS, malformed_fraction=MALFORMED_FRACTION, seed=8)
    # Lambda's poller view of the deployed stream (see the module docstring for why not moto's PutRecords).
    stream = put_records(normalize(records), shards=len(shard_ids), name=stream_name, region="us-east-1")
    assert stream.arn == described["StreamARN"] and {r.shard_id for r in stream.records} <= set(shard_ids)

    reported: set[str] = set()
    extra_env = {"AWS_CA_BUNDLE": str(moto.ca_file)}  # the test's plumbing to trust the local CA; nothing else added
    with ExecutionEnvironment(
        manifest, memory_mb=config["MemorySize"], timeout_s=config["Timeout"], environment={**env, **extra_env},
        function_name=config["FunctionName"], region="us-east-1", cpu_throttle=False,
    ) as function:
        for shard in stream.shards:
            for start in range(0, len(shard), mapping["BatchSize"]):
                batch: list[StreamRecord] = shard[start : start + mapping["BatchSize"]]
                invocation = function.invoke(kinesis_event(batch, stream))
                assert invocation.error is None, invocation.logs[-20:]
                reported |= {f["itemIdentifier"] for f in invocation.response["batchItemFailures"]}

    by_index = {r.index: r for r in stream.records}
    bad_ids = {by_index[i].event_id for i in malformed}
    good_ids = {r.event_id for r in stream.records if r.index not in malformed}
    predicted, dead_lettered = read_s3_sink(aws("s3", moto), env["SINK_S3_BUCKET"], env["SINK_S3_PREFIX"])
    print(f"\ndeployed round trip: sent {len(records)}, predicted and written {len(predicted)}, dead-lettered {len(dead_lettered)}, "
          f"reported {len(reported)} (malformed {len(malformed)})")
    # with a sink, undecodable records are dead-lettered (the module's default), not reported for retries
    assert reported == set() and set(dead_lettered) == bad_ids and set(dead_lettered.values()) == {1}
    assert set(predicted) == good_ids and set(predicted.values()) == {1}
    assert len(predicted) + len(dead_lettered) == len(records)


def read_s3_sink(s3: Any, bucket: str, prefix: str) -> tuple[Counter[str], Counter[str]]:
    """(copies of each eventID's prediction, copies of each dead-letter entry) in the deployed S3 sink."""
    prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    predicted: Counter[str] = Counter()
    dead_lettered: Counter[str] = Counter()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode("utf-8")
            target = dead_lettered if item["Key"].startswith(f"{prefix}{INVALID_FOLDER}/") else predicted
            target.update(json.loads(line)["eventID"] for line in body.splitlines())
    return predicted, dead_lettered
