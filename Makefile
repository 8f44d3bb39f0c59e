# Two entry points: `make demo` (run the examples on bundled data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TABLES := $(foreach f,$(wildcard examples/data/*.csv),--csv $(f))

.PHONY: demo test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	@for program in examples/*.dsl; do \
		echo "== $$program"; grep '^#' $$program | head -3; echo; \
		$(BIN)/csvdsl run $$program $(TABLES) || exit 1; echo; \
	done

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
