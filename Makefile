# Two commands: `make book` builds the HTML book, `make test` runs every test.
# Both create the virtual environment from requirements.txt first (offline-friendly).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
BUDGET ?= $(LRLIB_BUDGET)

.PHONY: venv book test test-fast bench clean clean-runs

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -m pip install -q -r requirements.txt 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -c "import torch, torchvision, lrlib, jupyter_book, nbmake, hypothesis, mlxtend"
	touch $@

# Executes every chapter at the default budget (cpu without CUDA, gpu with it; override with
# LRLIB_BUDGET=...), warnings as errors. Runs train two at a time in one-thread processes (the
# fastest use of a small CPU; LRLIB_WORKERS and LRLIB_THREADS override) and are cached on disk,
# so a rebuild after a prose edit retrains nothing. jupyter-cache keys notebooks on their code only, so the
# cache is dropped whenever the budget differs from the one the last build used.
book: venv
	@budget=$$($(BIN)/python -c "from lrlib.train import get_budget; print(get_budget().name)"); \
	if [ "$$(cat _build/.budget 2>/dev/null)" != "$$budget" ]; then rm -rf _build/.jupyter_cache _build/html _build/jupyter_execute; fi; \
	mkdir -p _build && echo $$budget > _build/.budget; \
	echo "building the book at LRLIB_BUDGET=$$budget"; \
	LRLIB_PROGRESS=0 LRLIB_THREADS=$${LRLIB_THREADS:-1} LRLIB_WORKERS=$${LRLIB_WORKERS:-2} KERAS_BACKEND=$${KERAS_BACKEND:-torch} \
		$(BIN)/jupyter-book build . -W --keep-going
	@echo "open _build/html/index.html"

# Unit, parity, property and resume tests; the docstring examples in lrlib (--doctest-modules);
# every notebook through nbmake at the smoke budget;
# and the whole book built at the smoke budget with warnings as errors (in a temporary folder).
test: venv
	LRLIB_BUDGET=smoke LRLIB_PROGRESS=0 KERAS_BACKEND=torch $(BIN)/python -m pytest -n 2 --dist loadfile \
		--nbmake --doctest-modules lrlib tests book

test-fast: venv
	$(BIN)/python -m pytest -n 2 tests -k "not book_builds"

bench: venv
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/bench_train.py

clean:
	rm -rf _build .pytest_cache .hypothesis

# The runner's disk cache of training runs (safe to delete: runs are retrained on demand)
clean-runs:
	rm -rf $${LRLIB_CACHE:-$$HOME/.cache/lrlib/runs}
