# Benchmark targets (include from the top-level Makefile; uses its $(STAMP) and build targets).
# Engine on 127.0.0.1:28123 with data in bench/data/engine, gateway on 127.0.0.1:28080.
# BENCH_ROWS (default 20000000), BENCH_DURATION, BENCH_WARMUP, BENCH_RESEED: see bench/README.md.

.PHONY: bench bench-storage

bench: $(STAMP) build ## Benchmarks: dataset, gateway, scenarios A-F vs a baseline → bench/results/
	bash bench/run.sh

bench-storage: $(STAMP) build ## Bytes per CDR per table and insert rate vs a bare MergeTree (realistic profile)
	bash bench/storage.sh
