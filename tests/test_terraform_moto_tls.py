"""The moto wrapper the Terraform tests run against (mlayer.demo.moto_tls), and the moto bugs it corrects.

Two kinds of test:
- the wrapper behaves as AWS documents: a TLS-only bucket policy denies http and allows https,
  a Deny whose condition does not hold is neutral, CreateStream keeps its tags, a mapping made
  on an alias reports the alias ARN;
- plain moto (unpatched, the `moto_endpoint` fixture) still has each bug. These FAIL once moto
  fixes one upstream: then drop that correction from mlayer/demo/moto_fixes.py and this test.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3
import botocore.exceptions
import pytest

from mlayer.demo.moto_fixes import condition_holds

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


def client(service: str, endpoint: str, ca_file: Any = None):
    return boto3.client(service, endpoint_url=endpoint, verify=str(ca_file) if ca_file else None, **CREDENTIALS)


def bucket_with_policy(s3, name: str, statement: dict[str, Any]) -> None:
    s3.create_bucket(Bucket=name)
    statement = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"], **statement}
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))


def put_status(s3, bucket: str) -> int:
    try:
        return s3.put_object(Bucket=bucket, Key="k", Body=b"x")["ResponseMetadata"]["HTTPStatusCode"]
    except botocore.exceptions.ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"]


TLS_ONLY = {"Condition": {"Bool": {"aws:SecureTransport": "false"}}}
MADE_UP_USER = {"Condition": {"StringEquals": {"aws:username": "nobody-by-this-name"}}}


# --- the wrapper ----------------------------------------------------------------------------


def test_tls_only_policy_denies_http_and_allows_https(tls_moto) -> None:
    https = client("s3", tls_moto.endpoint, tls_moto.ca_file)
    bucket_with_policy(https, "tls-only-bucket", TLS_ONLY)
    assert put_status(https, "tls-only-bucket") == 200
    assert put_status(client("s3", tls_moto.http_endpoint), "tls-only-bucket") == 403


def test_deny_whose_condition_does_not_hold_is_neutral(tls_moto) -> None:
    https = client("s3", tls_moto.endpoint, tls_moto.ca_file)
    bucket_with_policy(https, "made-up-user-bucket", MADE_UP_USER)
    assert put_status(https, "made-up-user-bucket") == 200
    assert put_status(client("s3", tls_moto.http_endpoint), "made-up-user-bucket") == 200


def test_unconditional_deny_still_denies(tls_moto) -> None:
    https = client("s3", tls_moto.endpoint, tls_moto.ca_file)
    bucket_with_policy(https, "deny-all-bucket", {})
    assert put_status(https, "deny-all-bucket") == 403


def test_https_needs_the_local_ca(tls_moto) -> None:
    """The certificate really is checked: without the CA, the client refuses the server."""
    with pytest.raises(botocore.exceptions.SSLError):
        client("s3", tls_moto.endpoint, ca_file=None).list_buckets()


@pytest.mark.parametrize(
    ("conditions", "context", "effect", "holds"),
    [
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "false"}, "Deny", True),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, "Deny", False),
        ({"StringEquals": {"aws:username": "x"}}, {}, "Deny", False),  # key absent: false
        ({"StringEqualsIfExists": {"aws:username": "x"}}, {}, "Deny", True),
        ({"StringNotEquals": {"aws:username": ["a", "b"]}}, {"aws:username": "c"}, "Allow", True),
        ({"StringLike": {"aws:username": "dev-*"}}, {"aws:username": "dev-1"}, "Allow", True),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {}, "Deny", True),  # unknown operator: a Deny applies
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {}, "Allow", False),  # ...an Allow does not
    ],
)
def test_condition_evaluation(conditions: dict, context: dict, effect: str, holds: bool) -> None:
    assert condition_holds(conditions, context, effect) is holds


def test_create_stream_keeps_its_tags(tls_moto) -> None:
    kinesis = client("kinesis", tls_moto.endpoint, tls_moto.ca_file)
    kinesis.create_stream(StreamName="tagged-wrapped", ShardCount=1, Tags={"Team": "a"})
    assert kinesis.list_tags_for_stream(StreamName="tagged-wrapped")["Tags"] == [{"Key": "Team", "Value": "a"}]


def _mapping_on_alias(endpoint: str, ca_file: Any, prefix: str) -> tuple[str, str]:
    """A function, version 1, alias `live` and a Kinesis mapping on the alias ARN: (alias ARN, reported FunctionArn)."""
    iam, lam, kinesis = (client(s, endpoint, ca_file) for s in ("iam", "lambda", "kinesis"))
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"{prefix}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as zf:
        zf.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return {}\n")
    lam.create_function(FunctionName=f"{prefix}-fn", Runtime="python3.12", Role=role, Handler="lambda_function.lambda_handler", Code={"ZipFile": code.getvalue()}, Publish=True)
    alias = lam.create_alias(FunctionName=f"{prefix}-fn", Name="live", FunctionVersion="1")["AliasArn"]
    kinesis.create_stream(StreamName=f"{prefix}-stream", ShardCount=1)
    stream = kinesis.describe_stream_summary(StreamName=f"{prefix}-stream")["StreamDescriptionSummary"]["StreamARN"]
    uuid = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=alias, StartingPosition="TRIM_HORIZON")["UUID"]
    return alias, lam.get_event_source_mapping(UUID=uuid)["FunctionArn"]


def test_mapping_on_an_alias_reports_the_alias_arn(tls_moto) -> None:
    alias, reported = _mapping_on_alias(tls_moto.endpoint, tls_moto.ca_file, "wrapped")
    assert reported == alias


# --- plain moto still has each bug (fails once fixed upstream: drop the correction) ---------


def test_upstream_moto_still_denies_a_deny_whose_condition_does_not_hold(moto_endpoint: str) -> None:
    s3 = client("s3", moto_endpoint)
    bucket_with_policy(s3, "upstream-made-up-user", MADE_UP_USER)
    assert put_status(s3, "upstream-made-up-user") == 403, "moto now evaluates conditional Deny statements: drop _fix_bucket_policy"


def test_upstream_moto_still_drops_create_stream_tags(moto_endpoint: str) -> None:
    kinesis = client("kinesis", moto_endpoint)
    kinesis.create_stream(StreamName="tagged-upstream", ShardCount=1, Tags={"Team": "a"})
    assert kinesis.list_tags_for_stream(StreamName="tagged-upstream")["Tags"] == [], "moto now keeps CreateStream tags: drop _fix_create_stream_tags"


def test_upstream_moto_still_reports_the_version_arn_for_alias_mappings(moto_endpoint: str) -> None:
    alias, reported = _mapping_on_alias(moto_endpoint, None, "upstream")
    assert reported == alias.rsplit(":", 1)[0] + ":1", "moto now reports the alias ARN: drop _fix_alias_mapping_arn"


def test_moto_still_rejects_enhanced_fan_out_consumers_as_event_sources(tls_moto) -> None:
    """Why the apply tests set use_enhanced_fan_out = false (AWS accepts a consumer ARN here)."""
    lam, kinesis = client("lambda", tls_moto.endpoint, tls_moto.ca_file), client("kinesis", tls_moto.endpoint, tls_moto.ca_file)
    alias, _ = _mapping_on_alias(tls_moto.endpoint, tls_moto.ca_file, "efo")
    stream = kinesis.describe_stream_summary(StreamName="efo-stream")["StreamDescriptionSummary"]["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=stream, ConsumerName="efo")["Consumer"]["ConsumerARN"]
    with pytest.raises(botocore.exceptions.ClientError, match="Invalid EventSourceArn"):
        lam.create_event_source_mapping(EventSourceArn=consumer, FunctionName=alias, StartingPosition="LATEST")
