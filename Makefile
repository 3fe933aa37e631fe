PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= demo

.PHONY: demo test bench lint clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# `make demo`: install the package (non-editable, as a user would) and run the demo.
demo: $(BIN)/activate
	$(BIN)/python -m pip install --quiet .
	$(BIN)/tracker demo --out $(OUT)

# `make test`: install with the test extras and run the whole suite.
test: $(BIN)/activate
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/ruff check tracker tests benchmarks migrations
	$(BIN)/ruff format --check tracker tests benchmarks migrations
	$(BIN)/python -m pytest

bench: $(BIN)/activate
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/run.py

lint: $(BIN)/activate
	$(BIN)/ruff check tracker tests benchmarks migrations
	$(BIN)/ruff format --check tracker tests benchmarks migrations

clean:
	rm -rf $(VENV) build dist *.egg-info
