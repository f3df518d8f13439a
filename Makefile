# Two commands on a fresh machine:  make replicate   and   make test
# Both create .venv if missing and install the pinned project into it (a second call skips that).

PYTHON ?= python3
VENV ?= .venv
PROFILE ?= quick
CORES ?= $(shell nproc 2>/dev/null || echo 2)
TARGET ?=
DATA_MIRROR ?=
PYTEST_ARGS ?=
GPU ?= 0

# Values typed on the command line (or in the environment) reach shell lines: each must be made of
# SAFE_CHARS, checked on its unexpanded text ($(value ...)) before anything expands it, so that a
# value with a space, a quote, a ; or a $(...) stops here with one line and never runs as a command,
# in the shell or in make. PROFILE and the numbers are one word; TARGET may name several, by spaces.
# (DATA_MIRROR, a folder, may hold any character: it reaches the shell through the environment.)
SAFE_CHARS := a b c d e f g h i j k l m n o p q r s t u v w x y z A B C D E F G H I J K L M N O P Q R S T U V W X Y Z \
	0 1 2 3 4 5 6 7 8 9 _ - . / + = , :
strip_chars = $(if $(2),$(call strip_chars,$(subst $(firstword $(2)),,$(1)),$(wordlist 2,$(words $(2)),$(2))),$(1))
typed = $(filter-out default file undefined override automatic,$(origin $(1)))
unsafe = $(and $(call typed,$(1)),$(or $(strip $(call strip_chars,$(value $(1)),$(SAFE_CHARS))),$(if $(2),,$(word 2,$(value $(1))))))
ALLOWED := letters, digits and _ - . / + = , : only
check_value = $(if $(call unsafe,$(1),$(2)),$(error $(1)='$(value $(1))': $(3) ($(ALLOWED))))
$(call check_value,PROFILE,,a profile is the name of a file config/<name>.yaml: one word)
$(call check_value,TARGET,several,files or rule names (several: separated by spaces))
$(call check_value,RERUN_FILES,several,files or folders (several: separated by spaces))
$(foreach v,CORES GPU PAIRS SEED KERAS_BACKEND,$(call check_value,$(v),,one word))

BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
STAMP := $(VENV)/.installed
# A profile is config/<name>.yaml; the default one, quick, is the top-level config.yaml (Snakemake's default config).
CONFIGFILE := $(if $(filter quick,$(PROFILE)),config.yaml,config/$(PROFILE).yaml)
NO_PROFILE := echo "no profile '$(PROFILE)': $(CONFIGFILE) does not exist (profiles: quick $(basename $(notdir $(wildcard config/*.yaml)))$(if $(filter slurm,$(PROFILE)),; workflow/profiles/slurm is a Snakemake command-line profile: --profile workflow/profiles/slurm --configfile config/paper.yaml (docs/cluster.md)))"; exit 2
# KERAS_BACKEND=jax make replicate ... is the config key backend (one --config: a second would replace the first).
# The mirror reaches the shell through the environment, never pasted into a line, so that a folder
# with a space or an apostrophe works (and no DATA_MIRROR value runs as a command).
export CW_DATA_MIRROR_ARG := $(DATA_MIRROR)
MIRROR_CONFIG := $(if $(DATA_MIRROR),"data={mirror: \"$$(realpath -m -- "$$CW_DATA_MIRROR_ARG")\"}")
CONFIG_VALUES := $(strip $(MIRROR_CONFIG) $(if $(KERAS_BACKEND),backend=$(KERAS_BACKEND)))
CONFIG_FLAG := $(if $(CONFIG_VALUES),--config $(CONFIG_VALUES),)
# Targets go first: --configfile and --config take several values and would swallow them.
GPU_FLAG := $(if $(filter-out 0,$(GPU)),--resources gpu=$(GPU),)
# Rerun triggers: Snakemake's default ones but `code`, which reruns every job of a rule whose shell
# text changed (a flag renamed, a log line reworded): a network or attack this tree computed would be
# retrained or rerun, though its store key, made of the config values it reads and the digests of
# the library code that shapes it, is unchanged. Code changes are seen where they matter: a change
# to that library code changes the store key (so the job is computed anew), `params` sees the
# values a rule passes, plots and REPORT.md take their code files as inputs (mtime), and
# `make audit` names every code file that changed since a manifest was written (STALE-CODE).
RERUN_TRIGGERS := --rerun-triggers mtime params input software-env
SNAKEMAKE_OPTS := --cores $(CORES) --configfile $(CONFIGFILE) --show-failed-logs --rerun-incomplete $(RERUN_TRIGGERS) $(CONFIG_FLAG) $(GPU_FLAG)
# GPU=<n>: install TensorFlow's CUDA wheels, give Snakemake n GPUs, and have every network step
# warn loudly when it finds none (docs/backends.md).
ifneq ($(GPU),0)
export CW_WANT_GPU := 1
GPU_STAMP := $(VENV)/.installed-gpu
endif

.PHONY: install lock replicate figures verify rerun test test-slurm lint report readme job-times dry-run audit store-check save-inflight unlock clean-venv help gpu-check-inputs

# Every workflow config make knows: quick (config.yaml) and config/<name>.yaml (config/README.md says what each is for).
PROFILES := quick $(sort $(basename $(notdir $(wildcard config/*.yaml))))
empty :=
space := $(empty) $(empty)

help:
	@echo "make install   create .venv, install requirements.lock into it, then the project (the targets below that"
	@echo "               need .venv do this first; GPU=n also installs TensorFlow's CUDA wheels)"
	@echo "make replicate [PROFILE=$(subst $(space),|,$(PROFILES))] [DATA_MIRROR=dir] [TARGET=file] [CORES=n] [GPU=n]"
	@echo "               the workflow (default: everything of the profile); restores what the store holds"
	@echo "               (PROFILE=<name> is config/<name>.yaml; quick, the default, is config.yaml; see config/README.md)"
	@echo "make figures   every table, figure and REPORT.md of paper_outputs/PROFILE from the store alone"
	@echo "               (no training, no attack; stops and says what is missing otherwise); TARGET=network_tables:"
	@echo "               only the networks' tables (accuracy, logit sizes), for a profile whose attacks have not run"
	@echo "make verify    rebuild paper_outputs/PROFILE from the store in a temporary worktree and compare it"
	@echo "               with what is committed (N of M identical; exit 1 on a real difference)"
	@echo "make rerun [PAIRS=3] [SEED=0] [RERUN_FILES=...]  rerun PAIRS random pairs of every attack result of"
	@echo "               store/PROFILE and re-evaluate every network's test accuracy (exit 1 on a difference)"
	@echo "make dry-run   what make replicate would run"
	@echo "make test      the test suite (pytest)"
	@echo "make test-slurm the tiny profile through a one-node SLURM cluster (root)"
	@echo "make lint      ruff, mypy src/, snakefmt --check, snakemake --lint"
	@echo "make report    Snakemake's HTML report of the profile's outputs (report.html)"
	@echo "make audit     check paper_outputs/PROFILE against its provenance"
	@echo "make job-times paper_outputs/PROFILE/tables/job_times from the run's benchmark files"
	@echo "make readme    the results blocks of README.md and docs/results.md from paper_outputs/*/verdicts.json, and"
	@echo "               config/README.md's table of every config key from workflow/schemas/config.schema.yaml"
	@echo "make store-check  verify every entry of store/PROFILE"
	@echo "make save-inflight  copy the running attack jobs' checkpoints into store/PROFILE/inflight (commit it:"
	@echo "               make replicate resumes them on another machine)"
	@echo "make unlock    remove the lock a killed run left (only when no other run is going)"
	@echo "make gpu-check-inputs  .gpu_check/ and .whl/ for benchmarks/gpu_check.sh on a JAX GPU machine"
	@echo "make lock      rewrite requirements.lock from pyproject.toml (uv pip compile, every platform, hashes)"
	@echo "make clean-venv   remove .venv"

# Every package at the version and hashes of requirements.lock (make lock writes it), then the
# project itself without dependencies: the manifests record the lock's digest and any package
# the environment holds at another version.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# requirements.lock from pyproject.toml's pins and extras (dev includes jax), for every platform,
# keeping the versions it already names where they still fit (uv prefers the existing output).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv==0.13.9
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --universal --generate-hashes \
		--custom-compile-command "make lock" -o requirements.lock

# A killed run leaves Snakemake's lock behind: say in one line what to do, rather than its long message.
define CHECK_LOCK
	@if [ -n "$$(ls -A .snakemake/locks 2>/dev/null)" ] && \
		! (for p in $$(pgrep -f 'bin/[s]nakemake'); do [ "$$(readlink /proc/$$p/cwd)" = "$(CURDIR)" ] && exit 0; done; exit 1); then \
		echo "A previous run was killed and left its lock in .snakemake/locks; no other run is going here, so: make unlock, then rerun (unfinished jobs rerun; attacks resume from their checkpoints)."; exit 2; fi
endef

# Snakemake's lock does not keep a second run of one profile out: a run that ends removes the whole
# .snakemake/locks folder, the locks of the runs still going too (snakemake 9.27, persistence/file.py,
# _delete_locks). So a run of PROFILE going here (a snakemake with its --configfile, not a dry run) stops
# a second one, which would train and write the same files. Runs of other profiles may go side by side.
define CHECK_RUNNING
	@for p in $$(pgrep -f 'bin/[s]nakemake .*--configfile $(CONFIGFILE)( |$$)'); do \
		[ "$$(cat /proc/$$p/comm)" = snakemake ] && [ "$$(readlink /proc/$$p/cwd)" = "$(CURDIR)" ] || continue; \
		tr '\0' ' ' < /proc/$$p/cmdline | grep -qE ' (-n|--dry-run)( |$$)' && continue; \
		echo "A run of PROFILE=$(PROFILE) is already going here (snakemake, pid $$p): a second would train and write the same files. Wait for it to end, or stop it (kill $$p), then rerun."; exit 2; done
endef

install: $(STAMP) $(GPU_STAMP)

$(VENV)/.installed-gpu: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[gpu,dev]'
	touch $@

replicate: $(STAMP) $(GPU_STAMP)
	$(CHECK_LOCK)
	$(CHECK_RUNNING)
	@test -f $(CONFIGFILE) || { $(NO_PROFILE); }
	$(BIN)/snakemake $(TARGET) $(SNAKEMAKE_OPTS)

dry-run: $(STAMP)
	$(BIN)/snakemake $(TARGET) -n $(SNAKEMAKE_OPTS)

EXPENSIVE_RULES := train_standard|train_half|train_init|train_teacher|train_distilled|logits|attack|fragility|transfer_examples|robustness

# TARGET=network_tables: only the tables its networks make (a profile whose attacks have not run yet).
FIGURES_TARGET = $(or $(TARGET),figures)
figures: $(STAMP)
	$(CHECK_LOCK)
	$(CHECK_RUNNING)
	@test -f $(CONFIGFILE) || { $(NO_PROFILE); }
	@$(BIN)/snakemake $(FIGURES_TARGET) -n $(SNAKEMAKE_OPTS) > $(VENV)/figures-plan.txt 2>&1 || { cat $(VENV)/figures-plan.txt; exit 1; }
	@awk '/^(local)?rule /{r=$$2} /^ +output:/ && r ~ /^($(EXPENSIVE_RULES)):$$/ {sub(/^ +output: /, ""); print r " " $$0}' \
		$(VENV)/figures-plan.txt > $(VENV)/figures-missing.txt
	@if test -s $(VENV)/figures-missing.txt; then grep '^store: ' $(VENV)/figures-plan.txt || true; \
		cat $(VENV)/figures-missing.txt; \
		echo "store/$(PROFILE) has no usable entry for what the $$(wc -l < $(VENV)/figures-missing.txt) jobs above compute (the store: lines say why an entry was refused): make replicate PROFILE=$(PROFILE) computes them$(if $(TARGET),,; make figures PROFILE=$(PROFILE) TARGET=network_tables makes the tables of its networks alone)"; exit 2; fi
	$(BIN)/snakemake $(FIGURES_TARGET) $(SNAKEMAKE_OPTS)

# paper_outputs/PROFILE rebuilt from store/PROFILE in a temporary worktree of HEAD and compared
# with what is committed: "N of M identical", each difference named; exit 1 on a real one.
verify: $(STAMP)
	$(BIN)/python scripts/verify_outputs.py "$(PROFILE)" $(if $(DATA_MIRROR),--mirror "$$CW_DATA_MIRROR_ARG") --cores $(CORES) --target $(FIGURES_TARGET)

# PAIRS random pairs (drawn with SEED) of each stored attack result rerun and compared, and each stored
# network's test accuracy re-evaluated, on the prepared data (made first); report in results/PROFILE/rerun.json.
PAIRS ?= 3
SEED ?= 0
RERUN_FILES ?= store/$(PROFILE)
RERUN_DATA = $(patsubst %,results/$(PROFILE)/data/%.npz,$(notdir $(wildcard store/$(PROFILE)/models/*)))
rerun: $(STAMP)
	@test -f $(CONFIGFILE) || { $(NO_PROFILE); }
	@test -n "$(RERUN_DATA)" || { echo "store/$(PROFILE) holds no networks: nothing to rerun"; exit 2; }
	$(BIN)/snakemake $(RERUN_DATA) --cores 1 --configfile $(CONFIGFILE) $(CONFIG_FLAG)
	$(BIN)/cw-distillation verify rerun $(RERUN_FILES) --pairs "$(PAIRS)" --seed "$(SEED)" \
		$(addprefix --data ,$(RERUN_DATA)) --out "results/$(PROFILE)/rerun.json"

store-check: $(STAMP)
	$(BIN)/cw-distillation store check store/$(PROFILE)

save-inflight: $(STAMP)
	$(BIN)/cw-distillation store save-inflight --store store/$(PROFILE) --results results/$(PROFILE)

unlock: $(STAMP)
	$(BIN)/snakemake --unlock $(SNAKEMAKE_OPTS)

# What benchmarks/gpu_check.sh needs on a GPU machine with JAX and no network: the mnist10
# distilled network with 1,000 test images it classifies correctly, and wheels of Keras and of
# the two packages it needs that such a machine lacks (docs/backends.md).
GPU_CHECK_NETWORK ?= store/mnist10/models/mnist/distilled_T100.keras
GPU_CHECK_WHEELS := keras==3.15.1 namex==0.1.0 optree==0.20.0
gpu-check-inputs: $(STAMP)
	$(BIN)/snakemake results/mnist10/data/mnist.npz --cores 1 --configfile config/mnist10.yaml $(CONFIG_FLAG)
	$(BIN)/python benchmarks/gpu_check.py prepare --network $(GPU_CHECK_NETWORK) --data results/mnist10/data/mnist.npz --out .gpu_check
	$(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
		--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
		--platform manylinux2014_x86_64 -d .whl $(GPU_CHECK_WHEELS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The tiny profile through a real one-node SLURM cluster on this machine (root; installs Debian's
# munge and SLURM if missing), compared with a local run; scancel and node-loss scenarios.
# SLURM_TEST_TARGETS=<files or rules> limits every run to those targets (default: the whole workflow).
test-slurm: $(STAMP)
	$(BIN)/python scripts/slurm/test_slurm.py $(SLURM_TEST_TARGETS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy src/
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --configfile $(CONFIGFILE)

report: $(STAMP)
	$(BIN)/snakemake --report report.html $(SNAKEMAKE_OPTS)
	@echo "wrote report.html"

audit: $(STAMP)
	$(BIN)/cw-distillation audit paper_outputs/$(PROFILE)

# A profile's job-time table, from the benchmark files of its last run (commit it; make readme shows it).
job-times: $(STAMP)
	$(BIN)/cw-distillation table-job-times --benchmarks results/$(PROFILE)/benchmarks --out-base paper_outputs/$(PROFILE)/tables/job_times

# The README's results block, from the committed reports of outputs/readme.PROFILES, and config/README.md's
# key table, from the schema (the test suite checks that both agree with their sources).
readme: $(STAMP)
	$(BIN)/cw-distillation readme-results
	$(BIN)/python scripts/config_readme.py

clean-venv:
	rm -rf $(VENV)
