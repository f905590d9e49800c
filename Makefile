# Two entry points for a newcomer: `make demo` and `make test`. Both bootstrap .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PIP_VERSION := 25.3
# checkov lives in its own venv: it pins boto3 and replaces python-hcl2's `hcl2` module.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
# A hashicorp/aws provider filesystem mirror (the folder holding registry.terraform.io), for
# machines without the registry. Unset: /opt/tf-plugins where it exists, else terraform init
# downloads the provider. The tests and `mlayer deploy` write the CLI config naming it into
# .terraform-cli/ (git-ignored), never into $HOME.
MLAYER_PROVIDER_MIRROR ?=
export MLAYER_PROVIDER_MIRROR

.PHONY: demo test bench venv clean

$(STAMP): requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "mlayer needs Python 3.11+ for its tooling; set PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check pip==$(PIP_VERSION)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt -e .
	@touch $@

$(CHECKOV_STAMP):
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	@touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/mlayer demo

# Test files run in parallel, a whole file per worker (--dist loadfile keeps a file's module-scoped
# fixtures, e.g. one Terraform state carried through apply/swap/rollback, in one process; builds
# shared across workers meet in mlayer's locked cache). 2 cores: 13:47 against 23:00 serially.
# PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= auto

test: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf dist
