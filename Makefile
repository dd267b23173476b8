PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint translations

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# Python 3.11's bundled pip backtracks into ancient kombu releases on our pins.
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade "pip>=25"
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[run,dev,flower,tencent,aliyun]"
	touch $(STAMP)

# After changing words in the code: collect them, then merge them into each catalogue.
# The app compiles a catalogue that changed when it starts (a wheel ships them compiled).
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k t -k tn:1,2 \
	  --no-wrap --sort-by-file -o translations/messages.pot .
	$(BIN)/pybabel update --no-wrap --ignore-obsolete -i translations/messages.pot -d translations

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
