PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# Python 3.11's bundled pip backtracks into ancient kombu releases on our pins.
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade "pip>=25"
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[run,dev,flower,tencent,aliyun]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m devtools.run

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
