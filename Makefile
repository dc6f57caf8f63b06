# The public-service portal. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?= -n 2 --dist loadfile

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its test tools

run: $(STAMP) ## Run the whole portal on this machine (SQLite, local RabbitMQ, demo data); SCALE="notify-worker=2"
	$(BIN)/python -m deploy.devrun $(if $(SCALE),--scale "$(SCALE)")

test: $(STAMP) lint ## Lint, type-check and run every test (needs RabbitMQ and PostgreSQL)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP) ## Reformat the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) ## Run the benchmarks and print their tables (installs nginx and wrk if missing)
	@command -v wrk >/dev/null && { command -v nginx >/dev/null || test -x /usr/sbin/nginx; } || { \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get install -y -qq nginx wrk >/dev/null || { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq nginx wrk >/dev/null; }; }
	$(BIN)/python -m bench.bus
	$(BIN)/python -m bench.identity
	$(BIN)/python -m bench.catalog
	$(BIN)/python -m bench.dossier
	$(BIN)/python -m bench.notify
	$(BIN)/python -m bench.gateway
	$(BIN)/python -m bench.portal

images: $(STAMP) ## Build every image from Debian packages and PyPI (no registry), names into deploy/.env
	$(BIN)/python -m deploy.images.build

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var/*.db var/*.db-* .pytest_cache .mypy_cache .ruff_cache

.PHONY: help install run test lint format bench images clean
