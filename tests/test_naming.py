"""One rule for model names and versions: the CLI's (naming.RULES) and variables.tf's are the same
patterns, matched on the whole string (issue 10, item 5)."""

from __future__ import annotations

import re

import hcl2
import pytest
from mlayer.errors import MlayerError
from mlayer.model.naming import RULES, validate_name, validate_version

from conftest import REPO


def hcl_patterns() -> dict[str, str]:
    """variable name -> the regex its validation block applies, read with an HCL parser."""
    with open(REPO / "variables.tf") as handle:
        variables = hcl2.load(handle)["variable"]
    found = {}
    for block in variables:
        for quoted, body in block.items():
            name = quoted.strip('"')  # python-hcl2 8 keeps the quotes of a block label
            for validation in body.get("validation", []):
                match = re.search(r'regex\("((?:[^"\\]|\\.)*)", var\.' + re.escape(name) + r"\)", validation["condition"])
                if match:
                    found[name] = match.group(1).encode().decode("unicode_escape")
    return found


def test_variables_tf_uses_the_same_name_and_version_patterns_as_the_cli():
    patterns = hcl_patterns()
    assert {name: patterns.get(name) for name in RULES} == {name: f"^{pattern}$" for name, pattern in RULES.items()}


@pytest.mark.parametrize("name", ["Evil\n", "Evil\r", "Ev\til", "Evil\x00", "a.b", "-x", "1abc", "", "x" * 65, "Évil", "a/b"])
def test_hostile_model_names_are_refused(name):
    with pytest.raises(MlayerError) as refused:
        validate_name(name)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("version", ["20190104v1\n", "v1\x1b", ".hidden", "..", "-v1", "", "v" * 65, "1/2", "v 1"])
def test_hostile_model_versions_are_refused(version):
    with pytest.raises(MlayerError) as refused:
        validate_version(version)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("name, version", [("MyModel", "20190104v1"), ("ticket-router_2", "1.2.0"), ("M" * 64, "9" * 64)])
def test_good_names_and_versions_pass_both_rules(name, version):
    assert validate_name(name) == name and validate_version(version) == version
    for variable, value in (("model_name", name), ("model_version", version)):
        assert re.fullmatch(hcl_patterns()[variable].strip("^$"), value)
