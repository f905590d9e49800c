"""Corrections of moto 5.2 where it disagrees with AWS's documented behaviour, applied only in
the moto server mlayer starts (mlayer.demo.moto_tls). tests/test_terraform_moto_tls.py proves
each against plain moto and fails once moto fixes it upstream, so each can then be dropped.

1. Bucket policies. moto 5.2.5 (moto/iam/access_control.py, IAMPolicyStatement.is_action_permitted) answers DENIED
whenever a statement's condition does not hold, whatever the statement's Effect; its condition
check treats a missing context key, and any operator but StringEquals, as holding; and S3 passes
no request context at all. So every Deny with a condition (the usual TLS-only policy:
Deny when aws:SecureTransport is false) denies every PutObject, over HTTPS too.

AWS's documented evaluation, which this applies:
- a statement whose condition does not hold does not apply to the request (neutral);
- a condition key absent from the request context makes its condition false (except *IfExists);
- S3 knows aws:SecureTransport from the request's scheme.

Unknown operators are treated conservatively: a Deny applies, an Allow does not.

2. Kinesis CreateStream drops its Tags parameter (AWS applies it), so every plan after an apply
   re-adds the stream's tags. Here they are applied.
3. An event source mapping created on an alias ARN reports FunctionArn as the ARN of the version
   the alias pointed to; AWS reports the alias ARN. Here the requested alias ARN is kept.
"""

from __future__ import annotations

import contextvars
import fnmatch
from collections.abc import Callable
from typing import Any

SECURE_TRANSPORT = "aws:SecureTransport"

# Set for each request by the WSGI middleware (wsgi_with_request_context), read by S3's check.
request_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("mlayer_moto_request_context", default={})


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _bool_equal(expected: str, actual: str) -> bool:
    return expected.lower() == actual.lower()


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "Bool": _bool_equal,
    "StringEquals": lambda expected, actual: expected == actual,
    "StringEqualsIgnoreCase": lambda expected, actual: expected.lower() == actual.lower(),
    "StringLike": lambda expected, actual: fnmatch.fnmatchcase(actual, expected),
    "ArnEquals": lambda expected, actual: expected == actual,
    "ArnLike": lambda expected, actual: fnmatch.fnmatchcase(actual, expected),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}


def condition_holds(conditions: dict[str, dict[str, Any]], context: dict[str, str], effect: str) -> bool:
    """Whether every condition block holds for this request context (AWS's rules, common operators)."""
    for operator, keys in conditions.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        negated = base in _NEGATED
        test = _OPERATORS.get(_NEGATED.get(base, base))
        for key, expected in keys.items():
            if test is None:  # an operator this does not know: a Deny applies, an Allow does not
                if effect != "Deny":
                    return False
                continue
            actual = next((v for k, v in context.items() if k.lower() == key.lower()), None)
            if actual is None:
                if if_exists:
                    continue
                return False
            matched = any(test(value, actual) for value in _as_list(expected))
            if matched == negated:
                return False
    return True


def statement_result(statement: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> Any:
    """One statement's verdict: PERMITTED, DENIED or NEUTRAL (does not apply)."""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    checker = IAMPolicyStatement(statement)
    if "NotAction" in statement:
        concerned = not checker._check_element_matches("NotAction", action)
    else:
        concerned = checker._check_element_matches("Action", action)
    if not concerned or checker.is_unknown_principal(statement.get("Principal")):
        return PermissionResult.NEUTRAL
    effect = statement.get("Effect", "Allow")
    if not condition_holds(statement.get("Condition") or {}, context, effect):
        return PermissionResult.NEUTRAL
    if statement.get("Resource") and not checker._check_element_matches("Resource", resource):
        return PermissionResult.NEUTRAL
    return PermissionResult.PERMITTED if effect == "Allow" else PermissionResult.DENIED


def policy_result(policy: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> Any:
    """An explicit Deny wins, then an Allow; otherwise neutral."""
    from moto.iam.access_control import PermissionResult

    statements = policy.get("Statement", [])
    results = [statement_result(s, action, resource, context) for s in (statements if isinstance(statements, list) else [statements])]
    if PermissionResult.DENIED in results:
        return PermissionResult.DENIED
    return PermissionResult.PERMITTED if PermissionResult.PERMITTED in results else PermissionResult.NEUTRAL


def apply_fixes() -> None:
    """All three corrections (idempotent)."""
    _fix_bucket_policy()
    _fix_create_stream_tags()
    _fix_alias_mapping_arn()


def _fix_create_stream_tags() -> None:
    from moto.kinesis.responses import KinesisResponse

    original = KinesisResponse.create_stream
    if getattr(original, "_mlayer_fixed", False):
        return

    def create_stream(self: Any) -> Any:
        result = original(self)
        tags = self._get_param("Tags")
        if tags:
            self.kinesis_backend.add_tags_to_stream(None, self._get_param("StreamName"), dict(tags))
        return result

    create_stream._mlayer_fixed = True  # type: ignore[attr-defined]
    KinesisResponse.create_stream = create_stream


def _fix_alias_mapping_arn() -> None:
    from moto.awslambda.models import LambdaBackend

    original = LambdaBackend.create_event_source_mapping
    if getattr(original, "_mlayer_fixed", False):
        return

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        requested = str(spec.get("FunctionName", ""))
        mapping = original(self, spec)
        parts = requested.split(":")
        if requested.startswith("arn:") and len(parts) == 8 and not parts[7].isdigit() and parts[7] != "$LATEST":
            mapping.function_arn = requested
        return mapping

    create_event_source_mapping._mlayer_fixed = True  # type: ignore[attr-defined]
    LambdaBackend.create_event_source_mapping = create_event_source_mapping


def _fix_bucket_policy() -> None:
    """Make S3 buckets evaluate their policy with the request's context."""
    import json

    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    if getattr(FakeBucket.get_permission, "_mlayer_fixed", False):
        return

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        return policy_result(json.loads(self.policy.decode()), action, resource, request_context.get())

    get_permission._mlayer_fixed = True  # type: ignore[attr-defined]
    FakeBucket.get_permission = get_permission


def wsgi_with_request_context(app: Callable[..., Any]) -> Callable[..., Any]:
    """WSGI middleware recording what a policy condition may ask about the request."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        secure = environ.get("wsgi.url_scheme") == "https"
        token = request_context.set({SECURE_TRANSPORT: "true" if secure else "false"})
        try:
            return app(environ, start_response)
        finally:
            request_context.reset(token)

    return wrapped

