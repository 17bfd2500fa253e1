# The project's one entry point. `make help` lists the targets; README.md explains them.
#
# Each service has its own virtualenv (<service>/.venv) built from its hash-locked
# requirements-dev.txt; the top-level .venv holds the tools (ruff, hadolint,
# check-jsonschema), the end-to-end suite and devstack/ (make env, make run, the e2e and
# bench stacks). A venv is rebuilt only when its lock file changes. PYTHON and VENV select
# another interpreter, e.g. for a second CI pass:
#   make test PYTHON=python3.12 VENV=.venv-3.12

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# A venv whose recipe fails half-way is built again next time.
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV ?= .venv

TOOLS_VENV := $(VENV)/.ok
AUTH_VENV := auth-service/$(VENV)/.ok
SCORE_VENV := score-service/$(VENV)/.ok
DEPLOY_VENV := deploy/$(VENV)/.ok
BIN := $(VENV)/bin
# The modules vendored byte-identical in both services (docs/tokens.md: One token contract;
# logs.py, http_metrics.py, metrics_server.py, request_records.py: docs/observability.md).
VENDORED := token_contract.py token_cache.py logs.py http_metrics.py metrics_server.py \
	request_records.py

# JUNIT_DIR=DIR: every suite also writes pytest's JUnit XML report there, one file per target
# and virtualenv (DIR/test-auth.venv.xml, DIR/test-auth.venv-3.12.xml...); .ci/run adds them up.
junit = $(if $(JUNIT_DIR),--junitxml=$(abspath $(JUNIT_DIR))/$@$(VENV).xml)

# $(call venv,DIR[,REQUIREMENTS]): (re)build DIR/$(VENV) from REQUIREMENTS, by default
# DIR/requirements-dev.txt.
define venv
	rm -rf $(1)/$(VENV)
	$(PYTHON) -m venv $(1)/$(VENV)
	$(1)/$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes \
		-r $(or $(2),$(1)/requirements-dev.txt)
	touch $@
endef

# devstack.pth puts this folder on the tools venv's path: `import devstack` works from
# anywhere, as after `pip install -e .`, which pip's hash-checking mode refuses.
$(TOOLS_VENV): requirements-dev.txt
	$(call venv,.)
	echo "$(CURDIR)" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/devstack.pth"

$(AUTH_VENV): auth-service/requirements-dev.txt
	$(call venv,auth-service)

$(SCORE_VENV): score-service/requirements-dev.txt
	$(call venv,score-service)

# checkov alone: its hundred packages stay out of the tools venv.
$(DEPLOY_VENV): deploy/requirements-checkov.txt
	$(call venv,deploy,deploy/requirements-checkov.txt)

.PHONY: help install env rotate-jwt-key run lint fmt test test-devstack test-load test-score test-auth test-e2e test-deploy bench bench-capacity bench-http load lock

help:  ## List the targets.
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

install: $(TOOLS_VENV) $(AUTH_VENV) $(SCORE_VENV) $(DEPLOY_VENV)  ## Build every virtualenv.

env: $(TOOLS_VENV)  ## Write .env from .env.example: fresh secrets and Ed25519 key pair (never overwrites).
	$(BIN)/python -m devstack env

rotate-jwt-key: $(TOOLS_VENV)  ## Rotate the token signing key in .env, by STEP=publish, activate, retire.
	$(BIN)/python -m devstack rotate-jwt-key $(STEP)

run: $(TOOLS_VENV)  ## The stack as local processes: gateway on :8000 (no Docker). Ctrl-C stops it.
	$(BIN)/python -m devstack check
	$(MAKE) --no-print-directory $(AUTH_VENV) $(SCORE_VENV)
	$(BIN)/python -m devstack run --venv $(VENV)

lint: $(TOOLS_VENV)  ## ruff (lint and format check), hadolint, workflow schema, one token contract.
	for name in $(VENDORED); do cmp auth-service/accounts/$$name score-service/app/$$name; done
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint $(wildcard */Dockerfile)
	$(if $(wildcard .github/workflows/*.yml),$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml)

fmt: $(TOOLS_VENV)  ## Format and auto-fix with ruff.
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint test-devstack test-load test-score test-auth test-e2e test-deploy  ## Lint, then every suite (the CI command).

test-devstack: $(TOOLS_VENV)  ## devstack's own suite: .env, keys, rotation, the gateway's config.
	$(BIN)/python -m pytest devstack $(junit)

test-load: $(TOOLS_VENV)  ## The load test's own suite: its refresh-chain checks, against a broken stub too.
	$(BIN)/python -m pytest loadtest $(junit)

test-score: $(SCORE_VENV)  ## The score service's suite.
	cd score-service && $(BIN)/python -m pytest $(junit)

test-auth: $(AUTH_VENV)  ## The auth service's suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set).
	cd auth-service && $(BIN)/python -m pytest $(junit)

test-e2e: $(TOOLS_VENV) $(AUTH_VENV) $(SCORE_VENV)  ## End-to-end through nginx (skipped without nginx).
	$(BIN)/python -m pytest e2e $(junit)

# The oldest and the newest Kubernetes versions the manifests support (docs/kubernetes.md).
# checkov runs offline: no Prisma Cloud mappings (BC_SKIP_MAPPING, --skip-download), no update check.
KUBERNETES_VERSIONS := 1.25 1.37
OVERLAYS := $(notdir $(wildcard deploy/kubernetes/overlays/*))
RENDERED := .run/deploy

test-deploy: $(TOOLS_VENV) $(AUTH_VENV) $(DEPLOY_VENV)  ## Kubernetes: render each overlay, validate it (kubernetes-validate, checkov), test it.
	rm -rf $(RENDERED) && mkdir -p $(RENDERED)
	for overlay in $(OVERLAYS); do \
		$(BIN)/kubectl kustomize deploy/kubernetes/overlays/$$overlay > $(RENDERED)/$$overlay.yaml; \
		for version in $(KUBERNETES_VERSIONS); do \
			$(BIN)/kubernetes-validate --strict --quiet --kubernetes-version $$version \
				$(RENDERED)/$$overlay.yaml; \
			echo "kubernetes-validate --strict $$version: $$overlay accepted"; \
		done; \
	done
	BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE deploy/$(BIN)/checkov --skip-download \
		--quiet --compact --framework kubernetes --directory $(RENDERED)
	$(BIN)/python -m pytest deploy/tests $(junit)

bench: $(SCORE_VENV)  ## Benchmarks: ratios measured in one run.
	cd score-service && $(BIN)/python bench.py

# It needs wrk and nginx, and says how to install whichever is missing (it installs nothing).
bench-http: $(TOOLS_VENV) $(AUTH_VENV) $(SCORE_VENV)  ## HTTP benchmark with wrk: the stack through nginx, and its peers.
	$(BIN)/python scripts/bench_http.py --venv $(VENV)

# make load: the gateway at HOST (`make run`, or compose's GATEWAY_PORT), USERS virtual users
# for DURATION seconds; FAULTS=1 also stops and starts parts of the compose project PROJECT
# (run it where `docker` reaches that stack). docs/performance.md: Load.
HOST ?= http://localhost:8000
USERS ?= 20
DURATION ?= 60
PROJECT ?= $(notdir $(CURDIR))
FAULTS ?=

load: $(TOOLS_VENV)  ## Mixed load through the gateway at HOST (USERS, DURATION s); FAULTS=1: the fault schedule.
	$(BIN)/python -m loadtest --host $(HOST) --users $(USERS) --duration $(DURATION) \
		$(if $(FAULTS),--faults $(PROJECT))

bench-capacity: $(TOOLS_VENV) $(AUTH_VENV) $(SCORE_VENV)  ## Logins and refreshes per core of the auth service, against Keycloak's sizing.
	$(BIN)/python scripts/bench_capacity.py --venv $(VENV)

lock: $(TOOLS_VENV)  ## Recompile every hash-locked requirements file from its .in file.
	for in in requirements-dev.in */requirements*.in; do \
		$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
			"$$in" -o "$${in%.in}.txt"; \
	done
