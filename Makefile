# The two quickstart commands: `make demo` and `make test`. Both install into .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
# llama-cpp-python (the embedded model's server) compiles from source: build it portable.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
# The `train` and `semantic` extras' torch goes first, pinned to its CPU build
# (docs/guides/finetune-eval.md).
TORCH ?= torch==2.13.0

.PHONY: install demo test lint

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -e '.[embedded,lang,dask,test,train,semantic]'
	touch $@

install: $(VENV)/.installed

# The demo's 8 pairs are fewer than the 10 training examples OpenAI requires (exit 5):
# --allow-short accepts a small smoke-test dataset, and a seed the tiny model leaves short.
demo: install
	$(VENV)/bin/datagen run seeds/legal/nda_clauses.yaml --pairs 8 --out outputs/nda-demo --allow-short

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check datagen flows tests bench
