# Developer entry points for mas. Needs GNU make, bash and Python >= 3.11; everything else
# (uv, the project venv, nats-server, PostgreSQL's server binaries for a machine without them,
# the linters) is installed from the lock file by these rules.
#
#   make run     migrate the SQLite file, seed demo data, serve (embedded defaults)
#   make test    ruff, lint-imports, mypy, then pytest against PostgreSQL + NATS JetStream

SHELL := bash
# Every recipe line fails on the first failing command, including inside pipes.
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
# uv itself lives in its own small venv so that it never depends on a hand-installed tool.
TOOLS := .tools
UV := $(TOOLS)/bin/uv
# uv creates the project venv here (uv's own default, overridable like with plain uv).
UV_PROJECT_ENVIRONMENT ?= .venv
export UV_PROJECT_ENVIRONMENT
VENV := $(UV_PROJECT_ENVIRONMENT)
# Build the project venv with the interpreter checked below, not whatever uv would pick.
export UV_PYTHON ?= $(PYTHON)
# Compile .pyc files at install time: some machines set PYTHONDONTWRITEBYTECODE, and then every
# process start (each `mas` command, each worker in the tests) recompiles every import (~5 s).
export UV_COMPILE_BYTECODE ?= 1

# wildcard: git does not keep an empty folder, and ruff fails on a path that does not exist.
LINT_PATHS := $(wildcard src tests benchmarks)
PYTEST_ARGS ?=

.PHONY: help install install-dev run test checks lint fmt bench clean

help: ## list the targets
	@echo "usage: make <target>   (PYTHON=$(PYTHON), venv $(VENV))"
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "} {printf "  %-12s %s\n", $$1, $$2}'
	@echo "variables: PYTEST_ARGS='-k name -x' (make test), CI=true (missing services fail)"

# A file target: only runs on a machine that has no .tools/bin/uv yet.
$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "error: mas needs Python >= 3.11, but '$(PYTHON)' is" \
			"$$($(PYTHON) --version 2>/dev/null || echo 'not found')." \
			"Install python3.11 and run e.g. 'make PYTHON=python3.11 ...'." >&2; \
		exit 1; }
	@$(PYTHON) -m venv $(TOOLS) || { \
		echo "error: '$(PYTHON) -m venv' failed; on Debian install it with:" \
			"apt-get install python3-venv" >&2; \
		rm -rf $(TOOLS); exit 1; }
	$(TOOLS)/bin/pip install --quiet 'uv>=0.5'

# Both installs are a few milliseconds when the venv already matches uv.lock.
# --inexact: keep packages that are not runtime dependencies instead of uninstalling them, so
# that `make run` after `make test` does not strip the dev tools (and the next `make test`
# does not reinstall them). A fresh `make install` gets exactly the runtime set.
install: $(UV) ## install the runtime dependencies from uv.lock into .venv
	@$(UV) sync --frozen --inexact
	@$(VENV)/bin/python -m compileall -q src

install-dev: $(UV) ## install runtime + dev dependencies (test tools, nats-server) from uv.lock
	@$(UV) sync --frozen --extra dev
	@$(VENV)/bin/python -m compileall -q src tests

run: install ## migrate the SQLite file, seed demo data, serve + worker + scheduler
	@# var/ is git-ignored, so a fresh clone has no folder for the SQLite file yet.
	@mkdir -p var
	$(VENV)/bin/mas db upgrade
	$(VENV)/bin/mas seed
	@# The embedded demo's WhatsApp, payment gateway and AI caller are in-process fakes (nothing leaves the
	@# machine; tokens are bought with the fake's test signature), and its invoices carry a
	@# made-up GSTIN (valid check character, Karnataka) so a purchase gets a GST invoice.
	MAS_WHATSAPP_PROVIDER=$${MAS_WHATSAPP_PROVIDER:-fake} \
	MAS_PAYMENTS_PROVIDER=$${MAS_PAYMENTS_PROVIDER:-fake} \
	MAS_AI_CALLER=$${MAS_AI_CALLER:-fake} \
	MAS_SUPPLIER_GSTIN=$${MAS_SUPPLIER_GSTIN:-29AAAAA0000A1ZY} exec $(VENV)/bin/mas dev

# The static checks need no services, so they run (and fail fast) before any are started.
checks: install-dev
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

lint: checks ## ruff check, ruff format --check, lint-imports, mypy (src/mas/core)

# One shell for the whole recipe: the services script writes var/test-services.env, which is
# sourced so pytest sees MAS_TEST_PG_URL / MAS_TEST_NATS_URL, and the EXIT trap stops whatever
# the script started (only that) however pytest ends, Ctrl-C included.
test: checks ## lint, then pytest with PostgreSQL + NATS (running ones or throwaway instances)
	@trap 'bash scripts/test-services.sh stop' EXIT; \
	trap 'exit 130' INT TERM; \
	bash scripts/test-services.sh start; \
	. var/test-services.env; \
	echo "$(VENV)/bin/pytest -q $(PYTEST_ARGS)"; \
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

fmt: install-dev ## format the code and apply ruff's safe fixes
	$(VENV)/bin/ruff format $(LINT_PATHS)
	$(VENV)/bin/ruff check --fix $(LINT_PATHS)

bench: install-dev ## run every benchmarks/*.py (each prints JSON figures)
	@shopt -s nullglob; scripts=(benchmarks/*.py); \
	if (( $${#scripts[@]} == 0 )); then echo "no benchmarks/*.py yet"; fi; \
	for f in "$${scripts[@]}"; do \
		echo "== $$f"; \
		$(VENV)/bin/python "$$f"; \
	done

clean: ## remove the SQLite files and tool caches (keeps .venv and .tools)
	rm -f var/*.db var/*.db-journal var/*.db-wal var/*.db-shm
	rm -rf .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
	find $(LINT_PATHS) scripts -name __pycache__ -type d -prune -exec rm -rf {} +
