# Two entry points: `make demo` (the main job on bundled data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TABLES := $(foreach f,$(wildcard examples/data/*.csv),--csv $(f))

# The training smoke test (tests/test_train_smoke.py) runs TRL on CPU: torch is installed first,
# pinned to a CPU build, so that trl does not pull a CUDA one.
TORCH ?= torch==2.13.0

.PHONY: demo test train-smoke bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q '$(TORCH)'
	$(BIN)/python -m pip install -q -e '.[test,train]'
	touch $@

# The main job on the bundled tables: generate tasks with the built-in teacher, then export
# SFT and RL data and a Hugging Face dataset. Offline; re-running resumes.
demo: $(BIN)/.installed
	$(BIN)/csvdsl generate $(wildcard examples/data/*.csv) --out out/demo --per-table 10 --seed 7
	$(BIN)/csvdsl export out/demo
	@head -c 600 out/demo/rl.jsonl; echo " ..."

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q -n auto

# The three examples (SFT, GRPO, GRPO with the environment) on a tiny model; part of `make test` too.
train-smoke: $(BIN)/.installed
	$(BIN)/python -m pytest -q tests/test_train_smoke.py

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
