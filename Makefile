# cdrstats — every entry point a developer or CI needs. `make run` and `make test` work on a
# fresh machine: they create the Python virtualenv for the local engine and build the gateway.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV             ?= .venv
PYTHON           ?= python3
CLICKHOUSE_URL   ?= http://127.0.0.1:8123
LOCAL_ENGINE_DIR ?= data/engine
# A development secret so `make run` works out of the box; production sets its own.
JWT_SECRET       ?= cdrstats-local-demo-secret-change-me
DEMO_ROWS        ?= 2000000
DEMO_DAYS        ?= 2
# Tests use their own engine on another port and data dir, so they never touch demo data.
TEST_ENGINE_URL  ?= http://127.0.0.1:18123
TEST_ENGINE_DIR  ?= data/test-engine

export CLICKHOUSE_URL LOCAL_ENGINE_DIR JWT_SECRET VENV

BIN     := target/release/cdrstats
STAMP   := $(VENV)/.installed

.PHONY: help run test engine engine-stop venv build migrate seed demo lint unit \
        engine-test integration test-engine test-engine-stop clean fuzz loadtest contract bi

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{sub(/:.*/, "", $$1); printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): engine/requirements.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r engine/requirements.txt
	@touch $@

venv: $(STAMP) ## Create the virtualenv with the pinned chdb-core engine

CONTRACT_STAMP := $(VENV)/.contract-installed
$(CONTRACT_STAMP): tests/contract/requirements.txt $(STAMP)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r tests/contract/requirements.txt
	@touch $@

BI_STAMP := $(VENV)/.bi-installed
$(BI_STAMP): tests/bi/requirements.txt $(STAMP)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r tests/bi/requirements.txt
	@touch $@

# Apache Superset for tests/bi/superset_recipe.py, in its own virtualenv (it pins pandas 2 and
# SQLAlchemy 1.4). BI_SUPERSET=0 skips it (saves its one-time install, see bench/results/README.md).
BI_SUPERSET     ?= 1
SUPERSET_VENV   ?= .venv-superset
SUPERSET_STAMP  := $(SUPERSET_VENV)/.installed
$(SUPERSET_STAMP): tests/bi/superset-requirements.txt
	@test -x $(SUPERSET_VENV)/bin/python || $(PYTHON) -m venv $(SUPERSET_VENV)
	$(SUPERSET_VENV)/bin/pip install --disable-pip-version-check -q -r tests/bi/superset-requirements.txt
	@touch $@

build: ## Build the release binary
	cargo build --release --locked

engine: $(STAMP) ## Start the local engine at CLICKHOUSE_URL in the background
	@bash engine/start.sh

engine-stop: ## Stop the local engine(s) started from LOCAL_ENGINE_DIR
	@bash engine/stop.sh

migrate: build engine ## Apply schema/ to CLICKHOUSE_URL
	$(BIN) migrate

seed: migrate ## Seed demo data if the cdrs table is empty; list its dense accounts (backfilled)
	$(BIN) seed --rows $(DEMO_ROWS) --days $(DEMO_DAYS) --if-empty
	$(BIN) rollups dense

demo: build ## Print a curl line with a demo token
	@$(BIN) demo

run: seed ## Fresh machine → engine, schema, demo data, a demo curl line, gateway in the foreground
	@echo
	@echo "Try it (in another terminal):"
	@$(BIN) demo
	@echo
	$(BIN) serve

lint: ## rustfmt and clippy, warnings are errors
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings

unit: ## Unit tests (no engine needed)
	cargo test --locked --lib --bins

engine-test: $(STAMP) ## The local engine's own protocol tests
	$(VENV)/bin/python -m unittest engine/test_engine.py

test-engine: $(STAMP)
	@CLICKHOUSE_URL=$(TEST_ENGINE_URL) LOCAL_ENGINE_DIR=$(TEST_ENGINE_DIR) bash engine/start.sh

test-engine-stop:
	@LOCAL_ENGINE_DIR=$(TEST_ENGINE_DIR) bash engine/stop.sh

integration: test-engine ## Integration tests against a real engine (started if needed)
	CDRSTATS_TEST_CLICKHOUSE_URL=$(TEST_ENGINE_URL) cargo test --locked --test api --test fault

contract: test-engine $(CONTRACT_STAMP) ## schemathesis drives the live gateway from its /openapi.json
	CONTRACT_ENGINE_URL=$(TEST_ENGINE_URL) bash tests/contract/run.sh

bi: test-engine $(BI_STAMP) $(if $(filter 1,$(BI_SUPERSET)),$(SUPERSET_STAMP)) ## Real BI clients (Superset, shillelagh, pandas, csv, Basic auth) drive a live gateway
	BI_ENGINE_URL=$(TEST_ENGINE_URL) \
	  BI_SUPERSET_PYTHON=$(if $(filter 1,$(BI_SUPERSET)),$(SUPERSET_VENV)/bin/python) \
	  bash tests/bi/run.sh

test: lint unit engine-test ## Everything CI runs
	@$(MAKE) --no-print-directory integration contract bi; status=$$?; \
	  $(MAKE) --no-print-directory test-engine-stop; exit $$status

fuzz: ## Fuzz the request parser for FUZZ_SECONDS (default 60); corpus kept in fuzz/corpus
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run parse_request corpus/parse_request -- \
	  -max_total_time=$${FUZZ_SECONDS:-60}

loadtest: ## 256 connections of mixed requests for 60 s; fails on unintended statuses or RSS growth
	bash loadtest/run.sh

clean: engine-stop ## Remove build output and local data
	rm -rf target data
include mk/dashboard.mk
include mk/bench.mk
