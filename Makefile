# The testbed's entry points. `make up` and `make test` are all a new user needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
REQUIREMENTS := constraints.txt requirements.txt requirements-uv.txt infra/requirements.txt localstack/requirements.txt lambdas/generic_api_call/requirements.txt mockapi/requirements.txt pyproject.toml

.DEFAULT_GOAL := help
.PHONY: help venv up down status env watch test test-unit test-durations coverage lint lint-workflows typecheck bench base-image clean synth cdk-cli parity parity-baseline parity-engines snapshots

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): $(REQUIREMENTS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python 3.11+ is needed; set PYTHON=python3.11")'
	@# pip, uv and the AWS clients need TLS: an interpreter built without OpenSSL makes a venv that fails late.
	@$(PYTHON) -c 'import ssl' 2>/dev/null || { echo "error: $(PYTHON) has no ssl module (built without OpenSSL); set PYTHON to another interpreter, e.g. PYTHON=/usr/bin/python3.11" >&2; exit 1; }
	@# Progress goes to stderr, so `eval "$$(make -s env)"` reads only the exports even on a first run.
	@echo "Creating $(VENV) and installing the pinned dependencies with uv (first time: under a minute)..." >&2
	@# pip stays in the venv: the Lambda bundling (infra/api_stack/bundling.py) runs `python -m pip`.
	@# An existing venv keeps its interpreter: a venv made again over it by another build of Python mixed
	@# the two (urllib3 then failed to import ssl). `rm -rf .venv` to change interpreters.
	test -x $(PY) || $(PYTHON) -m venv $(VENV) >&2
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-uv.txt >&2
	$(VENV)/bin/uv pip install --system-certs --python $(PY) -r requirements.txt >&2
	$(VENV)/bin/uv pip install --quiet --system-certs --python $(PY) --no-deps -e . >&2
	$(PY) -m testbed.deploy.nodejs --link >/dev/null  # node, npm, npx from the wheel, when the machine has none
	$(PY) scripts/compile_bytecode.py >&2  # uv writes no bytecode: the stack's processes would each compile
	@touch $(STAMP)

venv: $(STAMP) ## create the virtualenv with the pinned dependencies

synth: venv ## synthesize infra/ for AWS into infra/cdk.out (cfn-lint, statelint, cdk-nag); skipped when unchanged
	$(PY) -m testbed synth

cdk-cli: infra/node_modules/.package-lock.json ## install the pinned AWS CDK CLI (infra/package.json) with npm ci

# npm: the machine's (with its node), else the one `make venv` installed (testbed/deploy/nodejs.py).
infra/node_modules/.package-lock.json: infra/package.json infra/package-lock.json | $(STAMP)
	search_path=$$($(PY) -m testbed.deploy.nodejs node npm) && cd infra && PATH=$$search_path npm ci --no-audit --no-fund

# BACKEND=aws (docs/aws.md) deploys with the pinned CDK CLI: `make cdk-cli` first.
up: venv $(if $(filter aws,$(BACKEND)),cdk-cli) ## start the stack (Docker if an engine answers, else embedded; BACKEND=docker|embedded|localstack|aws), seed it
	$(PY) -m testbed up

down: venv ## stop the stack that `make up` started and remove its temporary files
	$(PY) -m testbed down

status: venv ## is the stack running? (exit 0 running, 3 stopped, 4 partly running)
	@$(PY) -m testbed status

env: venv ## print exports for the running stack: eval "$(make -s env)"
	@$(PY) -m testbed env

watch: venv ## re-deploy templates / Lambda / state machine to the running stack on every change
	$(PY) -m testbed watch

# pytest-xdist workers: one more than the cores, since integration tests wait on the stacks. On
# 2 cores 3 beat 4 (85-89 s against 87-94 s): each worker collects the suite again (~2 s of CPU).
TEST_WORKERS ?= 3
# Every worker imports (and pytest assertion-rewrites) the test modules: with bytecode caching
# off (PYTHONDONTWRITEBYTECODE) each one would compile them again, ~3 s of CPU per worker.
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

# Shards: `make test SHARDS=3 SHARD=1` runs the first of 3 parts of similar duration (pytest-split,
# weighted by .test_durations; each xdist group stays whole: tests/sharding.py). docs/ci.md.
SHARDS ?=
SHARD  ?=
ifneq ($(SHARDS)$(SHARD),)
ifeq ($(and $(SHARDS),$(SHARD)),)
$(error SHARDS='$(SHARDS)' SHARD='$(SHARD)': set both, e.g. `make test SHARDS=3 SHARD=1` (SHARD from 1 to SHARDS))
endif
SPLIT = --splits $(SHARDS) --group $(SHARD) --durations-path $(DURATIONS)
endif
DURATIONS := .test_durations

test: venv ## unit + integration tests in $(TEST_WORKERS) processes (one embedded and one docker stack, shared); SHARDS=N SHARD=i: one shard
	$(PYTEST) $(SPLIT) $(PYTEST_ARGS)

test-durations: venv ## run the whole suite and record each test's duration in .test_durations (the shards' weights)
	$(PYTEST) --store-durations --clean-durations --durations-path $(DURATIONS) $(PYTEST_ARGS)

# The snapshot files (tests/*/*.snapshot.json) and the test modules they belong to. Recorded on
# one backend (the other is checked against the same file by `make test`): docs/testing.md.
SNAPSHOT_TESTS = $(patsubst %.snapshot.json,%.py,$(wildcard tests/*/*.snapshot.json))
SNAPSHOT_BACKEND ?= embedded

snapshots: venv ## re-record the execution snapshots (tests/*/*.snapshot.json) on SNAPSHOT_BACKEND=embedded|docker
	@test -n "$(SNAPSHOT_TESTS)" || { echo "no tests/*/*.snapshot.json: record a first one with" \
		"make test PYTEST_ARGS='--snapshot-update tests/<folder>/test_<name>.py'" >&2; exit 2; }
	TESTBED_BACKENDS=$(SNAPSHOT_BACKEND) $(PYTEST) --snapshot-update $(SNAPSHOT_TESTS) $(PYTEST_ARGS)

test-unit: venv ## unit, mock API and infra (synth, assertions, lint) tests: no stack
	$(PYTEST) $(PYTEST_ARGS) tests/unit tests/mockapi tests/infra

bench: venv ## per backend: floor, Pass-only, workflow, throughput at 1/4/16 (figures + .testbed/reports/*.json)
	$(PY) benchmarks/bench_workflow.py $(BENCH_ARGS)

# The recorded AWS executions (README.md beside them): PARITY_CASES=<folder>, else ../shared/parity/cases.
parity: venv ## replay the recorded AWS executions on a fresh embedded stack (PARITY_ARGS="--backend localstack": LocalStack); exit 1 if a baseline case stops matching
	$(PY) -m testbed.parity $(PARITY_ARGS)

parity-table: venv ## write the parity table in docs/fidelity.md and README.md from the last `make parity` report
	$(PY) -m testbed.parity.table .testbed/reports/parity-embedded.json

parity-baseline: venv ## as `make parity`, then record this run's matches as the baseline (testbed/parity/baseline-<engine>.txt)
	$(PY) -m testbed.parity --update-baseline $(PARITY_ARGS)

parity-engines: venv ## per case, which engine (MiniStack, LocalStack) matches AWS, from both engines' `make parity` reports (PARITY_ARGS=--write-docs: the docs' table, from the baselines)
	$(PY) -m testbed.parity.engines $(PARITY_ARGS)

coverage: venv ## state-machine coverage report from the last `make test` (.testbed/reports/)
	$(PY) -m testbed.coverage

lint: venv ## ruff
	$(PY) -m ruff check .

# GitHub workflows: actionlint (syntax, expressions, runner labels) and zizmor (security:
# unpinned actions, template injection, credentials, permissions), offline: no GitHub token.
WORKFLOWS := .github/workflows
lint-workflows: venv ## check the GitHub workflows with actionlint and zizmor (offline)
	$(VENV)/bin/actionlint $(WORKFLOWS)/*.yml
	$(VENV)/bin/zizmor --offline --no-progress $(WORKFLOWS)/*.yml

typecheck: venv ## mypy over the Lambda, the harness, the mock API and the bench (config: pyproject.toml)
	$(VENV)/bin/mypy  # the files are listed in pyproject.toml [tool.mypy]

base-image: ## build the local stand-in for python:3.11-slim (machines without a registry; DEBIAN_SUITE=trixie: python:3.13-slim, for LocalStack's image)
	bash scripts/build-base-image.sh

clean: down ## stop the stack and remove generated state (.testbed/)
	rm -rf .testbed
