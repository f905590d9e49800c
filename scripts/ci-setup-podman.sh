#!/usr/bin/env bash
# Install podman and runc so the container tests (tests/test_deps_docker.py) run against a real
# Docker-API engine: the tests start `podman system service` themselves, with their own
# containers.conf (runc, no default ulimits; see tests/container_engine.py), and stop it after.
# Idempotent; needs root (or sudo) and apt. Does nothing if a Docker engine already answers.
set -euo pipefail

if command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1; then
    echo "ci-setup-podman: $(podman --version), $(runc --version | head -n1): already installed"
    exit 0
fi
if [ -S /var/run/docker.sock ] && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    echo "ci-setup-podman: a Docker engine answers on /var/run/docker.sock: not installing podman"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ci-setup-podman: no apt-get here: install podman and runc with this system's package manager" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# runc, not crun: crun fails on these machines ("cgroups in hybrid mode not supported").
$SUDO apt-get install -y -qq podman runc >/dev/null
echo "ci-setup-podman: installed $(podman --version), $(runc --version | head -n1)"
