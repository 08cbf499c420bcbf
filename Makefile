# Residents Hub. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

system: ## install missing Debian packages (Java 17, Maven, redis-server, postgresql)
	@scripts/install-system-deps.sh

install: $(STAMP) ## create .venv with the `hub` command and every pinned dependency

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

run: system install ## the main job: the whole hub here, with a simulated borough streaming through it
	$(BIN)/hub run

test: system install lint ## lint, then every test against real Kafka, Redis and PostgreSQL
	$(BIN)/pytest

unit: install ## fast tests of the pure core, no services
	$(BIN)/pytest -m unit

lint: install ## ruff (lint and format check) and mypy (strict on hub/, matchers/ and sources/simulator/)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install ## format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

stop: ## stop the local stack and its workers
	$(BIN)/hub stack down

clean: stop ## stop the stack and remove .venv and the stack's data
	rm -rf $(VENV) .stack

.PHONY: help system install run test unit lint format stop clean
