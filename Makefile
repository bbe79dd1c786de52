# Each target builds its own virtual environment, so a fresh clone needs nothing but Python 3.10+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DELTAPROP_DATA ?= $(abspath ../shared/data)
export DELTAPROP_DATA

.PHONY: demo test lint bench clean chromium

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(BIN)/activate

demo: $(BIN)/activate
	$(BIN)/deltaprop train

# The playground's browser tests drive the system's Chromium (Playwright cannot download one
# here); installed when missing and running as root.
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq chromium; fi

test: $(BIN)/activate chromium
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

bench: $(BIN)/activate
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
