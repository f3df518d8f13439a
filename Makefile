# Two commands on a fresh machine:  make replicate   and   make test
# Both create .venv if missing and install the pinned project into it (a second call skips that).

PYTHON ?= python3
VENV ?= .venv
PROFILE ?= quick
CORES ?= $(shell nproc 2>/dev/null || echo 2)
TARGET ?=
DATA_MIRROR ?=
PYTEST_ARGS ?=

BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
STAMP := $(VENV)/.installed
CONFIGFILE := $(if $(filter quick,$(PROFILE)),config.yaml,workflow/profiles/$(PROFILE)/config.yaml)
MIRROR_FLAG := $(if $(DATA_MIRROR),--config 'data={mirror: "$(abspath $(DATA_MIRROR))"}',)
# Targets go first: --configfile and --config take several values and would swallow them.
SNAKEMAKE_OPTS := --cores $(CORES) --configfile $(CONFIGFILE) --show-failed-logs --rerun-incomplete $(MIRROR_FLAG)

.PHONY: replicate test test-slurm lint report dry-run audit clean-venv help

help:
	@echo "make replicate [PROFILE=quick|paper|tiny] [DATA_MIRROR=dir] [TARGET=file] [CORES=n]"
	@echo "make test      the test suite (pytest)"
	@echo "make lint      ruff, snakefmt --check, snakemake --lint"
	@echo "make report    Snakemake's HTML report of the profile's outputs (report.html)"
	@echo "make audit     check paper_outputs/PROFILE against its provenance"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

replicate: $(STAMP)
	@test "$(PROFILE)" != slurm || { echo "workflow/profiles/slurm is a Snakemake command-line profile, not a config:"; \
		echo "  .venv/bin/snakemake --profile workflow/profiles/slurm --configfile workflow/profiles/paper/config.yaml (README: Running on a cluster)"; exit 2; }
	@test -f $(CONFIGFILE) || { echo "no profile '$(PROFILE)': $(CONFIGFILE) does not exist"; exit 2; }
	$(BIN)/snakemake $(TARGET) $(SNAKEMAKE_OPTS)

dry-run: $(STAMP)
	$(BIN)/snakemake $(TARGET) -n $(SNAKEMAKE_OPTS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The tiny profile through a real one-node SLURM cluster on this machine (root; installs Debian's
# munge and SLURM if missing), compared with a local run; scancel and node-loss scenarios.
# SLURM_TEST_TARGETS=<files or rules> limits every run to those targets (default: the whole workflow).
test-slurm: $(STAMP)
	$(BIN)/python scripts/slurm/test_slurm.py $(SLURM_TEST_TARGETS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --configfile $(CONFIGFILE)

report: $(STAMP)
	$(BIN)/snakemake --report report.html $(SNAKEMAKE_OPTS)
	@echo "wrote report.html"

audit: $(STAMP)
	$(BIN)/cw-distillation audit paper_outputs/$(PROFILE)

clean-venv:
	rm -rf $(VENV)
