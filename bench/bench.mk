# bench/bench.mk — benchmarks (SPEC §6), included by the top-level Makefile.
#
#   make bench         full runs (15 s per wrk run); rows go to bench/results/
#   make bench-smoke   2 s runs, only checks the benchmark works and prints
#                      numbers (part of `make test`; never fails on the figures);
#                      its rows go to build/bench/, not to the committed results

BENCH_DURATION ?= 15

bench: build/yingji $(NODE_DATA)
	DURATION=$(BENCH_DURATION) YINGJI_BIN=$(CURDIR)/build/yingji bench/api_list.sh
	@echo
	@echo "Reminder: copy these figures into BENCHMARKS.md (every run is kept in bench/results/api_list.tsv)."

bench-smoke: build/yingji $(NODE_DATA)
	@mkdir -p build/bench
	DURATION=2 YINGJI_BIN=$(CURDIR)/build/yingji RESULTS=$(CURDIR)/build/bench/api_list-smoke.tsv \
	  bench/api_list.sh
