# bench/bench.mk — benchmarks (SPEC §6), included by the top-level Makefile.
#
#   make bench         full runs; rows go to bench/results/
#                        api_list.sh       15 s per wrk run
#                        ingest_inproc     100,000 sensors, 20 M readings
#                        mqtt_ingest.sh    10,000 sensors, 2 M readings per consumer count
#                        warning_bench     1,000,000 residents: targeting a polygon beside a
#                                          full scan and PostGIS (bench/pg_peer.sh, installed
#                                          by scripts/deps.sh --bench), acknowledgements/s;
#                                          then the same on PostgreSQL (bench/warning_pg.sh)
#                        dispatch.sh       a county's SMS through a gateway answering in 50 ms,
#                                          beside wrk on the same gateway
#                        publish_stall.mjs the longest wait of healthz, a reading and an answer
#                                          during a city-wide publish, SQLite and PostgreSQL
#   make bench-warning only warning_bench, full size (about a minute and a half)
#   make bench-smoke   tiny runs, only checks the benchmarks work and prints
#                      numbers (part of `make test`; never fails on the figures);
#                      its rows go to build/bench/, not to the committed results

.PHONY: bench-warning

BENCH_DURATION ?= 15
BENCH_BINS     := build/bench/ingest_inproc build/bench/mqtt_pub build/bench/mqtt_sink \
                  build/bench/warning_bench

# In-process ingest: linked against the release objects (-O2, the project's CFLAGS).
build/bench/ingest_inproc: bench/ingest_inproc.c bench/mon_gen.h bench/bench_util.h $(REL_OBJ)
	@mkdir -p $(dir $@)
	@echo "CC-BENCH $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -O2 -o $@ $< $(REL_OBJ) $(LDLIBS)

# M3 targeting and acknowledgements: also linked against the release objects.
build/bench/warning_bench: bench/warning_bench.c bench/bench_util.h $(REL_OBJ)
	@mkdir -p $(dir $@)
	@echo "CC-BENCH $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -O2 -o $@ $< $(REL_OBJ) $(LDLIBS)

# MQTT load generator and baseline subscriber: libmosquitto only.
build/bench/mqtt_%: bench/mqtt_%.c bench/mon_gen.h
	@mkdir -p $(dir $@)
	@echo "CC-BENCH $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -O2 -o $@ $< $(LDLIBS)

bench: build/yingji $(NODE_DATA) $(BENCH_BINS)
	DURATION=$(BENCH_DURATION) YINGJI_BIN=$(CURDIR)/build/yingji bench/api_list.sh
	@echo
	build/bench/ingest_inproc --sensors 100000 --readings 20000000 --batch 10000 \
	  --results $(CURDIR)/bench/results/ingest_inproc.tsv
	@echo
	YINGJI_BIN=$(CURDIR)/build/yingji BENCH_DIR=$(CURDIR)/build/bench bench/mqtt_ingest.sh
	@echo
	@$(MAKE) --no-print-directory bench-warning
	@echo
	YINGJI_BIN=$(CURDIR)/build/yingji node bench/publish_stall.mjs
	@echo
	DURATION=10 YINGJI_BIN=$(CURDIR)/build/yingji bench/dispatch.sh
	@echo
	@echo "Reminder: copy these figures into BENCHMARKS.md (every run is kept in bench/results/*.tsv)."

# M3: 1,000,000 residents; the PostGIS peer is skipped, with the reason
# printed, when PostgreSQL/PostGIS cannot be installed.
bench-warning: build/bench/warning_bench $(NODE_DATA)
	@scripts/deps.sh --bench || echo "bench: could not install PostgreSQL/PostGIS (see above); no PostGIS peer"
	build/bench/warning_bench --residents 1000000 --repeat 3 --ack-batch 1000,10000 --ack-single 2000 \
	  --pg bench/pg_peer.sh --results $(CURDIR)/bench/results/warning_target.tsv \
	  --ack-results $(CURDIR)/bench/results/warning_ack.tsv
	bench/warning_pg.sh

bench-smoke: build/yingji $(NODE_DATA) $(BENCH_BINS)
	@mkdir -p build/bench
	DURATION=2 YINGJI_BIN=$(CURDIR)/build/yingji RESULTS=$(CURDIR)/build/bench/api_list-smoke.tsv \
	  RESULTS_PG=$(CURDIR)/build/bench/api_list_pg-smoke.tsv bench/api_list.sh
	build/bench/ingest_inproc --sensors 10000 --readings 1000000 --batch 10000 \
	  --results $(CURDIR)/build/bench/ingest_inproc-smoke.tsv
	SENSORS=1000 TOTAL=20000 CONSUMERS=2 LAT_PROBES=20 LAT_BG_RATE=2000 \
	  YINGJI_BIN=$(CURDIR)/build/yingji BENCH_DIR=$(CURDIR)/build/bench \
	  RESULTS=$(CURDIR)/build/bench/mqtt_ingest-smoke.tsv bench/mqtt_ingest.sh
	build/bench/warning_bench --residents 30000 --repeat 2 --ack-batch 100,1000 --ack-single 100 \
	  --results $(CURDIR)/build/bench/warning_target-smoke.tsv \
	  --ack-results $(CURDIR)/build/bench/warning_ack-smoke.tsv
	LATENCY_MS=20 AREA=140525100 DURATION=2 YINGJI_BIN=$(CURDIR)/build/yingji \
	  RESULTS=$(CURDIR)/build/bench/dispatch-smoke.tsv bench/dispatch.sh
	RESIDENTS=30000 YINGJI_BIN=$(CURDIR)/build/yingji \
	  RESULTS=$(CURDIR)/build/bench/publish_stall-smoke.tsv node bench/publish_stall.mjs
