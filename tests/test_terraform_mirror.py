"""The provider filesystem mirror: found the ordinary way, configured in the repository, never in $HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlayer.errors import MlayerError
from mlayer.terraform import AWS_PROVIDER, CLI_CONFIG_DIR, DEFAULT_MIRRORS, find_provider_mirror, use_provider_mirror


def fake_mirror(root: Path) -> Path:
    (root / AWS_PROVIDER / "5.100.0").mkdir(parents=True)
    return root


def test_named_mirror_is_written_into_the_project_and_used(tmp_path: Path) -> None:
    mirror = fake_mirror(tmp_path / "mirror")
    env = {"MLAYER_PROVIDER_MIRROR": str(mirror), "TF_CLI_CONFIG_FILE": "/nonexistent/.terraformrc", "HOME": str(tmp_path / "home")}
    assert use_provider_mirror(tmp_path / "project", env) == mirror
    config = tmp_path / "project" / ".terraform-cli" / "terraformrc"
    assert env["TF_CLI_CONFIG_FILE"] == str(config)
    text = config.read_text()
    assert f'path    = "{mirror}"' in text and f'exclude = ["{AWS_PROVIDER}"]' in text
    assert not (tmp_path / "home").exists()


def test_an_existing_cli_config_wins_when_no_mirror_is_named(tmp_path: Path) -> None:
    own = tmp_path / "own.tfrc"
    own.write_text("# the user's\n")
    env = {"TF_CLI_CONFIG_FILE": str(own)}
    assert use_provider_mirror(tmp_path / "project", env) is None
    assert env["TF_CLI_CONFIG_FILE"] == str(own) and not (tmp_path / "project").exists()


def test_a_named_mirror_without_the_provider_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(MlayerError, match="MLAYER_PROVIDER_MIRROR=.*holds no registry.terraform.io/hashicorp/aws"):
        find_provider_mirror({"MLAYER_PROVIDER_MIRROR": str(tmp_path / "empty")})


def test_default_mirror_only_where_it_exists() -> None:
    present = next((root for root in DEFAULT_MIRRORS if (root / AWS_PROVIDER).is_dir()), None)
    assert find_provider_mirror({}) == present


@pytest.mark.skipif(find_provider_mirror({}) is None, reason="no provider mirror on this machine (/opt/tf-plugins): nothing to check")
def test_this_session_uses_the_machines_mirror_through_the_repository_config() -> None:
    """tests/conftest.py pointed TF_CLI_CONFIG_FILE at .terraform-cli/terraformrc (unless the user's own
    existing config is in force); the provider-backed tests then init from the mirror offline."""
    import os

    config = Path(os.environ["TF_CLI_CONFIG_FILE"])
    assert config.is_file()
    if config.parent.name == CLI_CONFIG_DIR:
        assert str(find_provider_mirror()) in config.read_text()
