# `make demo` and `make test` each set the machine up first (scripts/setup.sh).
PY := .venv/bin/python

.PHONY: setup demo test benchmark clean

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

test: setup
	$(PY) -m pytest -q

benchmark: setup
	$(PY) -m pip install -q -e ".[benchmark]"
	$(PY) benchmarks/trace_overhead.py

clean:
	find renders -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
