# Benchmark targets (include from the top-level Makefile; uses its $(STAMP) and build targets).
# Engine on 127.0.0.1:28123 with data in bench/data/engine, gateway on 127.0.0.1:28080.
# BENCH_ROWS (default 20000000), BENCH_DURATION, BENCH_WARMUP, BENCH_RESEED: see bench/README.md.
# CURVE_SIZES (default "2000000 20000000 100000000"), CURVE_DURATION, CURVE_RESET: the scale curve.

.PHONY: bench bench-scenarios bench-curve bench-storage

bench: bench-scenarios bench-curve ## Benchmarks: scenarios A-F, then the 2M/20M/100M scale curve → bench/results/

bench-scenarios: $(STAMP) build ## Scenarios A-F and coalescing vs a baseline at one size → bench/results/latest.md
	bash bench/run.sh

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): bench/requirements.txt $(STAMP)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r bench/requirements.txt
	@touch $@

bench-curve: $(BENCH_STAMP) build ## Scale curve: grows one dataset 2M → 20M → 100M, (A)-(D) and breakdowns (G)-(K) vs straightforward SQL at each size
	$(VENV)/bin/python bench/curve.py

bench-storage: $(STAMP) build ## Bytes per CDR per table and insert rate vs a bare MergeTree (realistic profile)
	bash bench/storage.sh
