# The project's one entry point. `make help` lists the targets; README.md explains them.
#
# Each service has its own virtualenv (<service>/.venv) built from its hash-locked
# requirements-dev.txt; the top-level .venv holds the tools (ruff, hadolint,
# check-jsonschema) and the end-to-end suite. A venv is rebuilt only when its lock file
# changes. PYTHON and VENV select another interpreter, e.g. for a second CI pass:
#   make test PYTHON=python3.12 VENV=.venv-3.12

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv

TOOLS_VENV := $(VENV)/.ok
AUTH_VENV := auth-service/$(VENV)/.ok
SCORE_VENV := score-service/$(VENV)/.ok
DEPLOY_VENV := deploy/$(VENV)/.ok
BIN := $(VENV)/bin

# $(call venv,DIR[,REQUIREMENTS]): (re)build DIR/$(VENV) from REQUIREMENTS, by default
# DIR/requirements-dev.txt.
define venv
	rm -rf $(1)/$(VENV)
	$(PYTHON) -m venv $(1)/$(VENV)
	$(1)/$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes \
		-r $(or $(2),$(1)/requirements-dev.txt)
	touch $@
endef

$(TOOLS_VENV): requirements-dev.txt
	$(call venv,.)

$(AUTH_VENV): auth-service/requirements-dev.txt
	$(call venv,auth-service)

$(SCORE_VENV): score-service/requirements-dev.txt
	$(call venv,score-service)

# checkov alone: its hundred packages stay out of the tools venv.
$(DEPLOY_VENV): deploy/requirements-checkov.txt
	$(call venv,deploy,deploy/requirements-checkov.txt)

.PHONY: help install env env-keys rotate-jwt-key run lint fmt test test-score test-auth test-e2e test-deploy bench bench-http lock

help:  ## List the targets.
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

install: $(TOOLS_VENV) $(AUTH_VENV) $(SCORE_VENV) $(DEPLOY_VENV)  ## Build every virtualenv.

env:  ## Write .env from .env.example: fresh secrets and Ed25519 key pair (never overwrites).
	$(PYTHON) scripts/stack.py env

env-keys:  ## Switch an existing .env to EdDSA: add a fresh Ed25519 key pair, empty JWT_SECRET.
	$(PYTHON) scripts/stack.py env-keys

rotate-jwt-key:  ## Rotate the token signing key in .env, by STEP=publish, activate, retire.
	$(PYTHON) scripts/stack.py rotate-jwt-key $(STEP)

run:  ## The stack as local processes: gateway on :8000 (no Docker). Ctrl-C stops it.
	$(PYTHON) scripts/stack.py check
	$(MAKE) --no-print-directory $(AUTH_VENV) $(SCORE_VENV)
	$(PYTHON) scripts/stack.py run --venv $(VENV)

lint: $(TOOLS_VENV)  ## ruff (lint and format check), hadolint, workflow schema, one token contract.
	cmp auth-service/accounts/token_contract.py score-service/app/token_contract.py
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint $(wildcard */Dockerfile)
	$(if $(wildcard .github/workflows/*.yml),$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml)

fmt: $(TOOLS_VENV)  ## Format and auto-fix with ruff.
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint test-score test-auth test-e2e test-deploy  ## Lint, then every suite (the CI command).

test-score: $(SCORE_VENV)  ## The score service's suite.
	cd score-service && $(BIN)/python -m pytest

test-auth: $(AUTH_VENV)  ## The auth service's suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set).
	cd auth-service && $(BIN)/python -m pytest

test-e2e: $(TOOLS_VENV) $(AUTH_VENV) $(SCORE_VENV)  ## End-to-end through nginx (skipped without nginx).
	$(BIN)/python -m pytest e2e

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
	$(BIN)/python -m pytest deploy/tests

bench: $(SCORE_VENV)  ## Benchmarks: ratios measured in one run.
	cd score-service && $(BIN)/python bench.py

bench-http: $(AUTH_VENV) $(SCORE_VENV)  ## HTTP benchmark with wrk: the stack through nginx, and its peers.
	command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(PYTHON) scripts/bench_http.py --venv $(VENV)

lock: $(TOOLS_VENV)  ## Recompile every hash-locked requirements file from its .in file.
	for in in requirements-dev.in */requirements*.in; do \
		$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
			"$$in" -o "$${in%.in}.txt"; \
	done
