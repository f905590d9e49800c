"""The module against the hashicorp/aws 6.x schema, offline.

No 6.x provider binary is here, so `< 7.0` rests on this: every resource and data source the
module and its examples declare, every argument and nested block they set, exists in 6.66.0's
schema (tests/data/aws_provider_schema_v6.json, extracted by scripts/extract_v6_schema.py from
the .jsii manifest of @cdktn/provider-aws 25.7.0, which is generated from that schema), every
required argument set, and every attribute read exists. The manifest does not carry the schema's
deprecation flags, so deprecations are not checked here (the one known to matter, aws_region's
`id`/`name`, is avoided by not reading aws_region at all).
5.x is covered by the real provider (5.100.0) in tests/test_terraform_moto.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from test_terraform_contracts import ALL_DIRS, META_KEYS, REPO, load_module, unquote

SCHEMA = json.loads((REPO / "tests" / "data" / "aws_provider_schema_v6.json").read_text())
TYPES: dict[str, Any] = SCHEMA["types"]
META_ARGUMENTS = {"count", "for_each", "provider", "depends_on", "lifecycle"}


def block_problems(where: str, decl: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    fields = {k: v for k, v in decl.items() if k not in META_KEYS}
    dynamic = {}
    for entry in fields.pop("dynamic", []):
        for name, inner in entry.items():
            if name not in META_KEYS:
                dynamic[unquote(name)] = inner.get("content", [{}])
    for name in fields.keys() - META_ARGUMENTS:
        value = fields[name]
        is_block = isinstance(value, list) and value and all(isinstance(v, dict) and v.get("__is_block__") for v in value)
        if is_block:
            dynamic[name] = value
            continue
        if name not in schema["arguments"]:
            problems.append(f"{where}: no argument {name!r} in 6.x" + (" (it is a block there)" if name in schema["blocks"] else ""))
    for name, contents in dynamic.items():
        spec = schema["blocks"].get(name)
        if spec is None:
            problems.append(f"{where}: no block {name!r} in 6.x")
            continue
        for content in contents:
            problems += block_problems(f"{where}.{name}", content, spec)
    set_names = set(fields) | set(dynamic)
    problems += [f"{where}: required {name!r} not set" for name, spec in schema["arguments"].items() if spec["required"] and name not in set_names]
    return problems


def schema_problems(path: Path) -> list[str]:
    module = load_module(path)
    problems: list[str] = []
    for prefix, declared in (("", module.resources), ("data.", module.data)):
        for (kind, name), decl in declared.items():
            key = f"{prefix}{kind}"
            if key not in TYPES:
                problems.append(f"{key}.{name}: no such type in 6.x" if kind.startswith("aws_") else "")
                continue
            problems += block_problems(f"{key}.{name}", decl, TYPES[key])
    return [p for p in problems if p]


_READ = re.compile(r"\b(data\.)?(aws_[a-z0-9_]+)\.([a-z0-9_]+)(?:\[[^\]]*\])?\.([a-z0-9_]+)")


def attribute_problems(path: Path) -> list[str]:
    """Attributes read from aws_* resources and data sources must exist in 6.x."""
    module = load_module(path)
    problems = []
    text = "\n".join(tf.read_text() for tf in sorted(path.glob("*.tf")))
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    for data, kind, name, attribute in set(_READ.findall(code)):
        key = f"{'data.' if data else ''}{kind}"
        if key not in TYPES or ((kind, name) not in (module.data if data else module.resources)):
            continue
        spec = TYPES[key]
        if attribute not in spec["attributes"] and attribute not in spec["arguments"] and attribute not in spec["blocks"] and attribute != "id":
            problems.append(f"{key}.{name}.{attribute}: no such attribute in 6.x")
    return sorted(problems)


def test_schema_extract_is_6x_and_complete() -> None:
    assert SCHEMA["version"].startswith("6.") and SCHEMA["missing"] == []


@pytest.mark.parametrize("path", ALL_DIRS, ids=lambda p: str(p.relative_to(REPO)) or ".")
def test_module_fits_the_v6_schema(path: Path) -> None:
    assert schema_problems(path) == []
    assert attribute_problems(path) == []


def test_schema_check_catches_unknown_deprecated_and_missing(tmp_path: Path) -> None:
    """Negative control on a synthetic module."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_lambda_function" "f" {\n  function_name = "f"\n  no_such_arg = 1\n  environment {\n    variabls = {}\n  }\n}\n'
        'resource "aws_sqs_queue" "q" {\n  name = aws_lambda_function.f.no_such_attribute\n}\n'
    )
    problems = schema_problems(tmp_path)
    assert "aws_lambda_function.f: no argument 'no_such_arg' in 6.x" in problems
    assert "aws_lambda_function.f.environment: no argument 'variabls' in 6.x" in problems
    assert "aws_lambda_function.f: required 'role' not set" in problems
    assert attribute_problems(tmp_path) == ["aws_lambda_function.f.no_such_attribute: no such attribute in 6.x"]
