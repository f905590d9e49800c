"""Contracts of the Terraform module, checked on its parsed configuration (python-hcl2).

- the event source mapping invokes the alias, with ReportBatchItemFailures by default;
- nothing feeding the deps layer, the role/policy or the trigger depends on model_version
  (references traced through locals, module inputs and module outputs);
- the execution role names no "*" resource except the documented X-Ray and VPC statements;
- every variable has a description and a type, every constrained one a validation.

Each check has a negative control on a synthetic module, so it is known to be able to fail.
What `terraform validate` checks (references resolve, module arguments match the called module's
variables) is left to it: tests/test_terraform_moto.py validates every example with the real
provider and applies examples/complete.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import pytest

REPO = Path(__file__).resolve().parent.parent
SUBMODULES = ("artifact_bucket", "function", "iam", "kinesis_trigger", "layer", "sink")
EXAMPLES = ("complete", "dev", "prod")
MODULE_DIRS = [REPO, *(REPO / "modules" / m for m in SUBMODULES)]
ALL_DIRS = [*MODULE_DIRS, *(REPO / "examples" / e for e in EXAMPLES)]
MODEL_VARIABLES = {"model_version", "canary_model_version"}
META_KEYS = {"__is_block__", "__comments__"}
NOT_REFERENCES = {"each", "count", "self", "path", "terraform"}

# Variables whose values are constrained (formats, ranges, enumerations, AWS naming rules):
# each must carry a validation block.
CONSTRAINED = re.compile(
    r"(^runtime$|architecture|version$|weight$|^batch_size$|^memory_size$|^timeout$|_seconds$|_days$|_hours$|"
    r"^parallelization_factor$|^maximum_retry_attempts$|^starting_position|_mode$|^sink$|^kind$|^record_format$|"
    r"_arns?$|name_prefix|^(layer|function|role|bucket|stream|alias|artifact_bucket|sink_s3_bucket)_name$|^name$|"
    r"sha256|source_code_hash|shard_count|response_types$|^handler$|_prefix$|_path$|_url$|^aws_region$|"
    r"concurrent_executions$|hash_key$|retention_period$|environment_variables$|^model_layers$|^model_name$|"
    r"^description$|^license_info$|^text_field$|^layers$|^compatible_|^s3_bucket$|_log_bucket$)"
)


# --- parsing -----------------------------------------------------------------------------------


def unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def body(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k not in META_KEYS}


@dataclass
class Module:
    path: Path
    variables: dict[str, dict] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    resources: dict[tuple[str, str], dict] = field(default_factory=dict)
    data: dict[tuple[str, str], dict] = field(default_factory=dict)
    calls: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    raw: dict[str, list] = field(default_factory=dict)

    def child(self, name: str) -> Module:
        return load_module((self.path / unquote(self.calls[name]["source"])).resolve())


_CACHE: dict[Path, Module] = {}


def load_module(path: Path) -> Module:
    path = Path(path).resolve()
    if path in _CACHE:
        return _CACHE[path]
    module = Module(path)
    files = sorted(path.glob("*.tf"))
    assert files, f"no .tf files in {path}"
    for tf in files:
        with tf.open() as handle:
            parsed = hcl2.load(handle)
        for kind, blocks in parsed.items():
            module.raw.setdefault(kind, []).extend(blocks)
            for block in blocks:
                if kind == "locals":
                    for name, value in body(block).items():
                        assert name not in module.locals, f"local.{name} declared twice in {path}"
                        module.locals[name] = value
                    continue
                for label, inner in body(block).items():
                    if kind in ("resource", "data"):
                        for name, decl in body(inner).items():
                            target = module.resources if kind == "resource" else module.data
                            key = (unquote(label), unquote(name))
                            assert key not in target, f"{kind} {key} declared twice in {path}"
                            target[key] = decl
                    elif kind == "variable":
                        module.variables[unquote(label)] = inner
                    elif kind == "module":
                        module.calls[unquote(label)] = inner
                    elif kind == "output":
                        module.outputs[unquote(label)] = inner
    _CACHE[path] = module
    return module


# --- expressions and references ----------------------------------------------------------------


def _lex_code(text: str, i: int, parts: list[str]) -> int:
    """Code from text[i] up to its closing '}' (depth 0); string literals are blanked."""
    buf: list[str] = []
    depth = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            i = _lex_template(text, i + 1, parts)
            buf.append('""')
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                parts.append("".join(buf))
                return i + 1
            depth -= 1
        buf.append(char)
        i += 1
    parts.append("".join(buf))
    return i


def _lex_template(text: str, i: int, parts: list[str]) -> int:
    """A quoted template from text[i] (after the opening quote); collects its interpolations."""
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text.startswith("$${", i) or text.startswith("%%{", i):
            i += 3
        elif text.startswith("${", i) or text.startswith("%{", i):
            i = _lex_code(text, i + 2, parts)
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    return i


def code_of(value: str) -> list[str]:
    """The expression code in a python-hcl2 value: `${EXPR}`, a quoted template, or bare code."""
    parts: list[str] = []
    if value.startswith("${") and value.endswith("}"):
        _lex_code(value, 2, parts)
    elif value.startswith('"'):
        _lex_template(value, 1, parts)
    else:
        parts.append(value)
    return parts


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in META_KEYS:
                continue
            if "${" in key:
                yield key
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


# NAME.NAME[.ATTR], allowing a literal index before ATTR (aws_s3_bucket.this[0].arn); an
# expression index such as local.models[local.key] is left for the pattern to find on its own.
_REF = re.compile(r"(?<![\w.])([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)(?:\[(?:\d+|\"\"|\*)\])?(?:\.([A-Za-z_][\w-]*))?")


def references(node: Any, module: Module) -> set[tuple[str, ...]]:
    """("var", X), ("local", X), ("module", M, OUTPUT|""), ("data", T, N), ("resource", T, N, ATTR|"")."""
    refs: set[tuple[str, ...]] = set()
    for value in strings(node):
        for code in code_of(value):
            for first, second, third in _REF.findall(code):
                if first in ("var", "local"):
                    refs.add((first, second))
                elif first == "module":
                    refs.add(("module", second, third))
                elif first == "data":
                    refs.add(("data", second, third))
                elif first.startswith("aws_") or first == "terraform_data" or any(t == first for t, _ in module.resources):
                    refs.add(("resource", first, second, third))
    return refs


Frame = tuple[Module, dict]  # (calling module, the module block that called the next one)


def trace(module: Module, node: Any, frames: tuple[Frame, ...] = (), _seen: frozenset = frozenset()) -> set[tuple[str, ...]]:
    """What a value ultimately depends on: the root's input variables and managed-resource attributes.

    Locals, module inputs (up through the calling module blocks), module outputs (down into
    the child) and data sources' arguments are followed; a managed resource's attribute is a
    leaf (its identity, such as an alias ARN, does not change when its arguments do).
    """
    leaves: set[tuple[str, ...]] = set()
    for ref in references(node, module):
        key = (module.path, ref, len(frames))
        if key in _seen:
            continue
        seen = _seen | {key}
        kind = ref[0]
        if kind == "var":
            if not frames:
                leaves.add(("var", ref[1]))
            else:
                caller, call = frames[-1]
                if ref[1] in call:
                    leaves |= trace(caller, call[ref[1]], frames[:-1], seen)
        elif kind == "local":
            leaves |= trace(module, module.locals[ref[1]], frames, seen)
        elif kind == "module":
            child = module.child(ref[1])
            outputs = [child.outputs[ref[2]]] if ref[2] else list(child.outputs.values())
            for output in outputs:
                leaves |= trace(child, output.get("value"), (*frames, (module, module.calls[ref[1]])), seen)
        elif kind == "data":
            args = {k: v for k, v in module.data[(ref[1], ref[2])].items() if k != "lifecycle"}
            leaves |= trace(module, args, frames, seen)
        else:
            leaves.add(("resource", ref[1], ref[2], ref[3]))
    return leaves


def call_dependencies(root: Module, call: str) -> dict[str, set[str]]:
    """For each argument of a module block in root: the root variables it depends on."""
    args = {k: v for k, v in body(root.calls[call]).items() if k not in ("source", "depends_on", "providers")}
    return {arg: {leaf[1] for leaf in trace(root, value) if leaf[0] == "var"} for arg, value in args.items()}


def model_dependent_arguments(root: Module, call: str) -> dict[str, set[str]]:
    return {arg: deps & MODEL_VARIABLES for arg, deps in call_dependencies(root, call).items() if deps & MODEL_VARIABLES}


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def root() -> Module:
    return load_module(REPO)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- the tracer's lexer ---------------------------------------------------------------------------


def test_lexer_reads_only_code_not_string_literals() -> None:
    refs = references(
        {"a": '${coalesce(var.x, "${var.y}-records")}', "b": '"see var.not_a_ref and ${local.z}"', "c": '${contains(["var.q"], var.r)}'},
        Module(REPO),
    )
    assert refs == {("var", "x"), ("var", "y"), ("local", "z"), ("var", "r")}


# --- model_version touches only the model layer, the function and the alias --------------------


@pytest.mark.parametrize("call", ["deps_layer", "lean_deps_layer", "iam", "kinesis_trigger", "artifact_bucket", "sink"])
def test_model_version_does_not_reach(root: Module, call: str) -> None:
    assert model_dependent_arguments(root, call) == {}, f"module.{call} would change with the model version"


def test_model_version_reaches_model_layer_and_function(root: Module) -> None:
    """The tracer is not vacuous: the model layer and the function do follow the model version."""
    assert "model_version" in model_dependent_arguments(root, "model_layer").get("zip_path", set())
    function = model_dependent_arguments(root, "function")
    assert "model_version" in function["environment_variables"]  # MODEL_VERSION
    assert set(function) <= {"environment_variables", "layers", "stable_version", "canary_weight"}
    # The layers follow the model: through the model layer version it publishes, and through the
    # deps layer its kind needs (lean or scikit-learn), chosen among layers that do not follow it.
    assert function["layers"] == {"model_version", "canary_model_version"}
    layers = trace(root, root.calls["function"]["layers"])
    assert ("resource", "aws_lambda_layer_version", "this", "arn") in layers
    assert {("module", "deps_layer", "arn"), ("module", "lean_deps_layer", "arn")} <= references(root.locals["function_deps_layer_arn"], root)


def test_role_and_mapping_resources_use_only_module_inputs(root: Module) -> None:
    """Inside the iam and kinesis_trigger modules, the role, policy and mapping read inputs and own resources only."""
    for name, resources in (("iam", ["aws_iam_role", "aws_iam_role_policy"]), ("kinesis_trigger", ["aws_lambda_event_source_mapping"])):
        child = root.child(name)
        for (rtype, rname), decl in child.resources.items():
            if rtype in resources:
                kinds = {ref[0] for ref in references(decl, child)}
                assert kinds <= {"var", "local", "resource", "data"}, (name, rtype, kinds)


def test_model_version_tracer_catches_indirect_dependencies(tmp_path: Path) -> None:
    write(tmp_path / "layer" / "main.tf", 'variable "zip" {\n  type = string\n}\noutput "arn" {\n  value = var.zip\n}\n')
    write(
        tmp_path / "main.tf",
        'variable "model_version" {\n  type = string\n}\n'
        'variable "other" {\n  type = string\n}\n'
        'locals {\n  tag = "v-${var.model_version}"\n  path = "${local.tag}.zip"\n}\n'
        'module "probe" {\n  source = "./layer"\n  zip = var.other\n}\n'
        'module "deps_layer" {\n  source = "./layer"\n  zip = module.probe.arn\n}\n'
        'module "leaky" {\n  source = "./layer"\n  zip = lower(local.path)\n}\n'
        'module "chained" {\n  source = "./layer"\n  zip = module.leaky.arn\n}\n',
    )
    synthetic = load_module(tmp_path)
    assert model_dependent_arguments(synthetic, "deps_layer") == {}
    assert model_dependent_arguments(synthetic, "leaky") == {"zip": {"model_version"}}
    assert model_dependent_arguments(synthetic, "chained") == {"zip": {"model_version"}}


# --- the trigger -------------------------------------------------------------------------------


def test_event_source_mapping_invokes_the_alias(root: Module) -> None:
    trigger = root.child("kinesis_trigger")
    esm = trigger.resources[("aws_lambda_event_source_mapping", "this")]
    frames = ((root, root.calls["kinesis_trigger"]),)
    assert trace(trigger, esm["function_name"], frames) == {("resource", "aws_lambda_alias", "this", "arn")}
    assert trace(trigger, esm["destination_config"], frames) == {("resource", "aws_sqs_queue", "failures", "arn")}


def test_report_batch_item_failures_and_bisect_by_default(root: Module) -> None:
    trigger = root.child("kinesis_trigger")
    esm = trigger.resources[("aws_lambda_event_source_mapping", "this")]
    frames = ((root, root.calls["kinesis_trigger"]),)
    assert trace(trigger, esm["function_response_types"], frames) == {("var", "function_response_types")}
    assert trace(trigger, esm["bisect_batch_on_function_error"], frames) == {("var", "bisect_batch_on_function_error")}
    for module in (root, trigger):
        assert [unquote(v) for v in module.variables["function_response_types"]["default"]] == ["ReportBatchItemFailures"]
        assert module.variables["bisect_batch_on_function_error"]["default"] is True
        assert module.variables["batch_size"]["default"] == 100


def test_layers_keep_old_versions_and_function_publishes(root: Module) -> None:
    layer = root.child("deps_layer")
    version = layer.resources[("aws_lambda_layer_version", "this")]
    assert version["skip_destroy"] is True
    assert trace(layer, version["source_code_hash"]) == {("var", "sha256_base64")}
    assert ("var", "sha256") in references(layer.locals["s3_key"], layer)  # content-addressed upload
    function = root.child("function")
    assert function.resources[("aws_lambda_function", "this")]["publish"] is True
    assert unquote(function.variables["handler"]["default"]) == "lambda_function.lambda_handler"
    assert unquote(function.variables["alias_name"]["default"]) == "live"
    assert root.child("model_layer").path == layer.path  # one generic layer module, used twice


# --- least privilege ---------------------------------------------------------------------------

ALLOWED_STAR_STATEMENTS = {"XRayTracing": "tracing_enabled", "VpcNetworkInterfaces": "vpc_enabled"}


def policy_statements(module: Module) -> list[dict[str, Any]]:
    """Every statement of every aws_iam_policy_document, static or dynamic, with its gate."""
    found = []
    for (dtype, dname), decl in module.data.items():
        if dtype != "aws_iam_policy_document":
            continue
        for statement in decl.get("statement", []):
            found.append({"doc": dname, "block": statement, "gate": None})
        for dynamic in decl.get("dynamic", []):
            for label, dyn in body(dynamic).items():
                if unquote(label) == "statement":
                    for content in dyn["content"]:
                        found.append({"doc": dname, "block": content, "gate": dyn["for_each"]})
    return found


def star_resource_problems(module: Module) -> list[str]:
    problems = []
    for stmt in policy_statements(module):
        block = stmt["block"]
        sid = unquote(block.get("sid", ""))
        resources = block.get("resources", [])
        actions = block.get("actions", [])
        if isinstance(actions, list) and any("*" in unquote(a) for a in actions) and stmt["doc"] != "tls_only":
            problems.append(f"{stmt['doc']}/{sid}: wildcard action")
        if not (isinstance(resources, list) and any(unquote(r) == "*" for r in resources)):
            continue
        comments = " ".join(c.get("value", "") for c in block.get("__comments__", []))
        gate = ALLOWED_STAR_STATEMENTS.get(sid)
        if gate is None:
            problems.append(f'{stmt["doc"]}/{sid}: Resource "*"')
        elif "AWS requires" not in comments:
            problems.append(f"{stmt['doc']}/{sid}: '*' without an 'AWS requires' comment saying why")
        elif stmt["gate"] is None or ("var", gate) not in references(stmt["gate"], module):
            problems.append(f"{stmt['doc']}/{sid}: '*' statement not gated on var.{gate}")
    return problems


@pytest.mark.parametrize("path", MODULE_DIRS, ids=lambda p: str(p.relative_to(REPO)) or ".")
def test_no_star_resources_except_documented(path: Path) -> None:
    assert star_resource_problems(load_module(path)) == []


def test_star_resource_check_catches_an_ungated_star(tmp_path: Path) -> None:
    write(
        tmp_path / "main.tf",
        'data "aws_iam_policy_document" "this" {\n'
        '  statement {\n    sid = "Broad"\n    actions = ["s3:GetObject"]\n    resources = ["*"]\n  }\n'
        '  statement {\n    sid = "XRayTracing"\n    actions = ["xray:PutTraceSegments"]\n    resources = ["*"]\n  }\n'
        '  statement {\n    sid = "All"\n    actions = ["s3:*"]\n    resources = ["arn:aws:s3:::b"]\n  }\n'
        "}\n",
    )
    assert star_resource_problems(load_module(tmp_path)) == [
        'this/Broad: Resource "*"',
        "this/XRayTracing: '*' without an 'AWS requires' comment saying why",
        "this/All: wildcard action",
    ]


def test_execution_role_statements_are_scoped(root: Module) -> None:
    iam = root.child("iam")
    by_sid = {unquote(s["block"].get("sid", "")): s["block"] for s in policy_statements(iam) if s["doc"] == "this"}
    assert set(by_sid) >= {"WriteOwnLogGroup", "ReadSourceStream", "SendFailedBatchesToQueue", "XRayTracing"}
    read = by_sid["ReadSourceStream"]
    assert sorted(unquote(a) for a in read["actions"]) == [
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
    ]
    assert read["resources"] == ["${var.source_stream_arn}"]
    assert by_sid["WriteOwnLogGroup"]["resources"] == ['"${var.log_group_arn}:*"']
    assert by_sid["SendFailedBatchesToQueue"]["resources"] == ["${var.failure_queue_arn}"]
    everything = " ".join(strings(iam.raw))
    assert "ListStreams" not in everything and "kinesis:*" not in everything
    sink_statements = " ".join(strings(iam.locals["sink_statements"]))
    assert '"*"' not in sink_statements
    assert '"${var.sink_s3_bucket_arn}/${var.sink_s3_prefix}*"' in sink_statements


# --- variables and versions --------------------------------------------------------------------


def passed_verbatim(module: Module) -> set[str]:
    """Variables an example hands unchanged to the module, which validates them itself."""
    names = set()
    for call in module.calls.values():
        for arg, value in body(call).items():
            match = re.fullmatch(r"\$\{var\.([\w-]+)\}", value) if isinstance(value, str) else None
            if match and match.group(1) == arg:
                names.add(arg)
    return names


def variable_problems(module: Module, is_example: bool) -> list[str]:
    problems = []
    exempt = passed_verbatim(module) if is_example else set()
    for name, decl in module.variables.items():
        if not unquote(decl.get("description", "")).strip():
            problems.append(f"{name}: no description")
        if "type" not in decl:
            problems.append(f"{name}: no type")
        if CONSTRAINED.search(name) and name not in exempt and not decl.get("validation"):
            problems.append(f"{name}: constrained but no validation")
    return problems


@pytest.mark.parametrize("path", ALL_DIRS, ids=lambda p: str(p.relative_to(REPO)) or ".")
def test_variables_have_description_type_and_validation(path: Path) -> None:
    module = load_module(path)
    assert module.variables, f"{path} declares no variables"
    assert variable_problems(module, "examples" in path.parts) == []


def test_variable_check_catches_missing_parts(tmp_path: Path) -> None:
    write(
        tmp_path / "main.tf",
        'variable "memory_size" {\n  description = "MB"\n  type = number\n}\n'
        'variable "free_text" {\n  type = string\n}\n'
        'variable "untyped" {\n  description = "x"\n}\n',
    )
    assert sorted(variable_problems(load_module(tmp_path), False)) == [
        "free_text: no description",
        "memory_size: constrained but no validation",
        "untyped: no type",
    ]


@pytest.mark.parametrize("path", ALL_DIRS, ids=lambda p: str(p.relative_to(REPO)) or ".")
def test_versions_pin_terraform_and_the_aws_provider(path: Path) -> None:
    terraform = load_module(path).raw["terraform"]
    assert len(terraform) == 1
    block = terraform[0]
    assert unquote(block["required_version"]) == ">= 1.5"
    aws = block["required_providers"][0]["aws"]
    assert unquote(aws["source"]) == "hashicorp/aws"
    assert unquote(aws["version"]) == ">= 5.76, < 7.0"


# --- examples ----------------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES)
def test_examples_call_the_root_module_and_can_target_a_local_endpoint(example: str) -> None:
    module = load_module(REPO / "examples" / example)
    assert unquote(module.calls["mlayer"]["source"]) == "../.."
    assert unquote(module.variables["manifest_path"]["default"]) == "../../dist/manifest.json"
    assert module.variables["aws_endpoint_url"]["default"] is None
    provider = module.raw["provider"][0]['"aws"'] if '"aws"' in module.raw["provider"][0] else module.raw["provider"][0]["aws"]
    endpoints = body(provider["endpoints"][0])
    assert {"s3", "lambda", "iam", "kinesis", "sqs", "dynamodb", "sts", "logs", "kms"} <= set(endpoints)
    assert all(value == "${var.aws_endpoint_url}" for value in endpoints.values())


def test_examples_differ_where_environments_should(root: Module) -> None:
    dev = body(load_module(REPO / "examples" / "dev").calls["mlayer"])
    prod = body(load_module(REPO / "examples" / "prod").calls["mlayer"])
    complete = body(load_module(REPO / "examples" / "complete").calls["mlayer"])
    assert dev["memory_size"] != prod["memory_size"] and dev["batch_size"] != prod["batch_size"]
    assert "canary_model_version" in prod and "canary_model_version" not in dev
    assert "default" not in load_module(REPO / "examples" / "prod").variables["model_version"]
    assert dev["tags"] != prod["tags"]
    missing = set(root.variables) - set(complete)
    assert missing == set(), f"examples/complete does not set {sorted(missing)}"


def test_no_account_ids_or_keys_in_terraform_or_docs() -> None:
    files = [*REPO.glob("*.tf"), *REPO.glob("modules/**/*.tf"), *REPO.glob("examples/**/*.tf"), REPO / "README.md"]
    for path in files:
        text = path.read_text()
        assert not re.search(r"(?<![\d{,])\d{12}(?![\d},])", text), f"{path} holds a 12-digit number (an account id?)"
        assert not re.search(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b", text), f"{path} holds an access key id"


@pytest.mark.parametrize("path", ALL_DIRS, ids=lambda p: str(p.relative_to(REPO)) or ".")
def test_every_input_and_output_is_documented(path: Path) -> None:
    module = load_module(path)
    doc = path / "README.md"
    text = doc.read_text()
    missing = [name for name in [*module.variables, *module.outputs] if f"| `{name}` |" not in text]
    assert missing == [], f"{doc.relative_to(REPO)} does not document {missing}"
