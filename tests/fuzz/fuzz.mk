# tests/fuzz/fuzz.mk — libFuzzer targets for the parsers (SPEC §7).
#
# Included by the top-level Makefile.  The library is compiled a second time
# with clang into build/fuzz/obj (coverage instrumentation + ASan + UBSan) and
# archived, so each target links only the objects it needs.  Each target has a
# committed seed corpus in tests/fuzz/<target>/seeds; runs work on a copy in
# build/fuzz/corpus/<target> so the repository corpus is never polluted, and
# crash inputs land in build/fuzz/artifacts/<target>/.
#
#   make fuzz          every target for FUZZ_SECONDS (default 60) each
#   make fuzz-smoke    every target for 10 s each; fails on any crash/leak/UB
#   make build/fuzz/fuzz_csv        just build one target

FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_TARGETS  := fuzz_json_body fuzz_csv_import fuzz_csv fuzz_kj fuzz_payload fuzz_cap fuzz_area \
                 fuzz_gateway_callback fuzz_sms_reply
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The project's warning set minus -Werror: clang's diagnostics differ from
# gcc's and a warning must not stop the fuzz build.
FUZZ_CFLAGS   := $(filter-out -Werror,$(CFLAGS)) -Wno-missing-field-initializers -O1 -g $(FUZZ_SAN)
FUZZ_OBJ      := $(LIB_SRC:%.c=build/fuzz/obj/%.o)
FUZZ_LIB      := build/fuzz/libyingji.a
FUZZ_BINS     := $(FUZZ_TARGETS:%=build/fuzz/%)
# -rss_limit_mb: the CSV importer may legitimately hold a 16 MiB body;
# -timeout: a single input taking longer than this is a hang worth reporting.
FUZZ_RUNFLAGS ?= -rss_limit_mb=2048 -timeout=20 -max_len=65536 -print_final_stats=1

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC-FUZZ $<"
	@$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_OBJ)
	@rm -f $@
	@ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	@echo "LD-FUZZ $@"
	@$(FUZZ_CC) $(CPPFLAGS) -Isrc $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LDLIBS)

-include $(FUZZ_OBJ:.o=.d)

# Run each target for $(1) seconds on a fresh working copy of its seeds.
# libFuzzer exits non-zero on a crash, leak, UB report or timeout, which
# fails the recipe (and so `make test`).
define fuzz_run
	@set -e; for t in $(FUZZ_TARGETS); do \
	  work=build/fuzz/corpus/$$t; art=build/fuzz/artifacts/$$t; \
	  mkdir -p $$work $$art; cp -n tests/fuzz/$$t/seeds/* $$work/ 2>/dev/null || true; \
	  echo "== $$t: $(1) s, corpus $$work ($$(ls $$work | wc -l) files)"; \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  YJ_FUZZ_TMP=$(CURDIR)/build/fuzz/tmp \
	    build/fuzz/$$t $(FUZZ_RUNFLAGS) -max_total_time=$(1) -artifact_prefix=$$art/ \
	      $$work > build/fuzz/$$t.log 2>&1 \
	    || { grep -m1 -A40 -E '==ERROR|runtime error|deadly signal|Timeout|out-of-memory' build/fuzz/$$t.log \
	           || tail -n 40 build/fuzz/$$t.log; \
	         echo "FUZZ FAILURE in $$t: see build/fuzz/$$t.log; reproduce with build/fuzz/$$t $$art/<crash file>"; \
	         exit 1; }; \
	  grep -E '^stat::number_of_executed_units|^stat::new_units_added|^stat::peak_rss_mb' build/fuzz/$$t.log | tr '\n' ' '; echo; \
	done
endef

fuzz: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-smoke: $(FUZZ_BINS)
	$(call fuzz_run,10)
