# The two commands a user needs: `make demo` and `make test`. Each installs
# what is missing (scripts/install-deps.sh), configures and builds.
PRESET ?= release
BUILD  := build/$(PRESET)
JOBS   ?= $(shell nproc)

.PHONY: all deps configure build test unit demo quality nab rca-bench pg-bench bench check format clean asan

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@test -f $(BUILD)/build.ninja || cmake --preset $(PRESET)

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# Every test: unit, integration and quality.
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 1200

unit: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

quality: build
	@cd $(BUILD) && ctest --output-on-failure -L quality -V

rca-bench: build
	@$(BUILD)/bench/rca_bench --data ../shared/benchmarks/rca/squeeze_B0

# PostgreSQL read throughput: osprey's connector + aggregation vs psql \copy,
# 10 million rows on a throw-away server (prints figures; takes a few minutes).
pg-bench: build
	@$(BUILD)/bench/pg_read_bench --rows $${ROWS:-10000000}

demo: build
	@$(BUILD)/src/osprey/cli/osprey demo --config examples/ecommerce.yaml --dir $(BUILD)/demo

asan:
	@$(MAKE) test PRESET=asan

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	@rm -rf build

# osprey's detector on the NAB corpus: the three profile scores.
nab: build
	@$(BUILD)/bench/nab_score --nab ../shared/benchmarks/nab --osprey
