# The two commands a user needs: `make demo` and `make test`. Each installs
# what is missing (scripts/install-deps.sh), configures and builds.
PRESET ?= release
BUILD  := build/$(PRESET)
JOBS   ?= $(shell nproc)

.PHONY: all deps configure build test unit demo quality nab nab-cv rca-bench pg-bench export-bench scale-bench bench check format format-check clean asan asan-ci soak api-bench fuzz business-bench

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@test -f $(BUILD)/build.ninja || cmake --preset $(PRESET)

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# Every test: unit, integration, quality and the fuzz targets (label fuzz:
# seed corpus plus a fixed-seed mutation loop, a few seconds each).
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 1200

unit: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

quality: build
	@cd $(BUILD) && ctest --output-on-failure -L quality -V

# Root-cause search on every shipped Squeeze B0 case, the RiskLoc S and L sets
# and a generated ratio-KPI set, F1 beside the peers and CPU ms per case; one
# case: $(BUILD)/bench/rca_bench --case FILE.csv.gz (or osprey rca --csv FILE)
rca-bench: build
	@$(BUILD)/bench/rca_bench --all ../shared/benchmarks/rca

# PostgreSQL read throughput: osprey's connector + aggregation vs psql \copy,
# 10 million rows on a throw-away server (prints figures; takes a few minutes).
pg-bench: build
	@$(BUILD)/bench/pg_read_bench --rows $${ROWS:-10000000}

# `osprey anomalies export --csv` speed: rows/s from a SQLite state of
# 2.4 M scored points, written to /dev/null (prints figures).
export-bench: build
	@$(BUILD)/bench/export_bench

# Backtest series-points/s, peak RSS, live seconds per interval and bytes per
# stored point at 1k, 10k and 100k series (a few minutes); SCALE_FULL=1 adds
# 1M series and a week at 100k; SCALE_SIZES=100000x168 picks sizes;
# SCALE_DOUBLES=1 makes every value an arbitrary double (whole orders otherwise).
scale-bench: build
	@$(BUILD)/bench/scale_bench $(if $(SCALE_SIZES),--sizes $(SCALE_SIZES)) $(if $(SCALE_FULL),--full) $(if $(SCALE_DOUBLES),--doubles)

# The demo, then the UI on its results: served until Ctrl-C when run from a
# terminal; otherwise (CI, scripts) it prints how to serve.
OSPREY := $(BUILD)/src/osprey/cli/osprey
DEMO_STATE := $(BUILD)/demo/state.db
demo: build
	@$(OSPREY) demo --config examples/ecommerce.yaml --dir $(BUILD)/demo
	@if test -t 0; then \
	  token=$$($(OSPREY) token create --role admin --name demo --state $(DEMO_STATE) 2>/dev/null); \
	  echo; echo "Open http://127.0.0.1:8080/ and sign in with this admin token:"; echo "  $$token"; echo; \
	  OSPREY_DEMO_WAREHOUSE=$(BUILD)/demo/warehouse.db $(OSPREY) serve --state $(DEMO_STATE); \
	else \
	  echo; echo "To see the results in the web UI:"; \
	  echo "  $(OSPREY) token create --role admin --state $(DEMO_STATE)"; \
	  echo "  OSPREY_DEMO_WAREHOUSE=$(BUILD)/demo/warehouse.db $(OSPREY) serve --state $(DEMO_STATE)"; \
	  echo "then open http://127.0.0.1:8080/ and sign in with the token."; \
	fi

# Requests/s and p99 of the anomaly list under wrk load while a backtest runs.
api-bench: build
	@bench/api_load.sh $(BUILD) 10

# The unit and fuzz tests built with AddressSanitizer + UBSan (Debug, in
# build/asan): every test labelled unit or fuzz. ASAN_LABELS changes the set
# (ASAN_LABELS='unit|fuzz|integration' adds the integration tests).
ASAN_LABELS ?= unit|fuzz
asan: deps
	@test -f build/asan/build.ninja || cmake --preset asan
	@cmake --build build/asan -j $(JOBS)
	@cd build/asan && ctest --output-on-failure -j $(JOBS) --timeout 1200 -L '$(ASAN_LABELS)'

# The subset .ci/run runs under ASan + UBSan (docs/fuzzing.md): every fuzz
# target (seed corpus + fixed-seed mutations) and the unit tests of the
# parsers and the pure modules; builds only what they need.
ASAN_CI_TESTS := base/base_test config/config_test api/api_parse_test schedule/schedule_test \
                 ingest/ingest_test detect/detect_test rca/rca_test
ASAN_CI_FUZZ  := $(patsubst fuzz/%_fuzz.cc,fuzz_%,$(wildcard fuzz/*_fuzz.cc))
asan-ci: deps
	@test -f build/asan/build.ninja || cmake --preset asan
	@cmake --build build/asan -j $(JOBS) --target $(notdir $(ASAN_CI_TESTS)) $(ASAN_CI_FUZZ)
	@cd build/asan && ctest --output-on-failure -j $(JOBS) -L fuzz
	@set -e; for t in $(ASAN_CI_TESTS); do echo "== asan $$t"; build/asan/src/osprey/$$t --gtest_brief=1; done

# 20 detectors served for SOAK_MINUTES (default 30) on a fast testing clock,
# with source outages and restarts every few minutes: prints RSS and open
# descriptors over time and checks them flat and every interval stored once
# (tests/soak.cc). Not part of `make test`.
soak: build
	@$(BUILD)/tests/osprey_soak --minutes $${SOAK_MINUTES:-30}

# Coverage-guided fuzzing of every parser (clang + libFuzzer + ASan/UBSan, in
# build/fuzz), FUZZ_SECONDS each (default 60); FUZZ_TARGETS=csv limits it.
# Needs clang, which `deps` does not install. See docs/fuzzing.md.
FUZZ_SECONDS ?= 60
fuzz: deps
	@JOBS=$(JOBS) scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# C++ formatting (.clang-format): `format` rewrites the tree, `format-check`
# fails listing every file that differs (run by .ci/run).
format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

format-check: deps
	@git ls-files '*.h' '*.cc' | xargs clang-format --dry-run -Werror

clean:
	@rm -rf build

# osprey's detector on the NAB corpus: the three profile scores.
nab: build
	@$(BUILD)/bench/nab_score --nab ../shared/benchmarks/nab --osprey

# The business-data benchmark (bench/business/README.md): osprey's default
# model beside the peers and the oracle on generated hourly business data and
# 5-minute ops KPIs, three settings each, seeds 1..SEEDS (default 3).
business-bench: build
	@$(BUILD)/bench/business_bench --seeds $${SEEDS:-3}

# The same run, plus NAB by 2-fold cross-validation: the threshold chosen on
# half the files (alternate files sorted by path), scored on the other half.
nab-cv: build
	@$(BUILD)/bench/nab_score --nab ../shared/benchmarks/nab --osprey --cv 2
