# Two entry points: `make demo` (the main job on bundled data) and `make test`.
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

# The main job on the bundled tables: generate tasks with the built-in teacher, then export
# SFT and RL data and a Hugging Face dataset. Offline; re-running resumes.
demo: $(BIN)/.installed
	$(BIN)/csvdsl generate $(wildcard examples/data/*.csv) --out out/demo --per-table 10 --seed 7
	$(BIN)/csvdsl export out/demo
	@head -c 600 out/demo/rl.jsonl; echo " ..."

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
