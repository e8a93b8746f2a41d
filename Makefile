# Herald — the two commands a newcomer needs are `make run` and `make test`.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
PYTHON     ?= /usr/bin/python3
FUZZ_SECONDS ?= 30
# The black-box tests mostly wait on servers, so a few pytest workers (pytest-xdist) share the
# two cores well; each worker starts its own PostgreSQL and fakes on free ports.
PYTEST_WORKERS ?= 3

.PHONY: all build run test unit integration test-asan fuzz bench docs format deps deps-test clean web test-web

all: build

build:
	@if [ ! -f $(BUILD)/CMakeCache.txt ]; then cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null; fi
	cmake --build $(BUILD) -j$(JOBS)

deps:
	@scripts/deps.sh run

deps-test:
	@scripts/deps.sh test

# Builds, migrates the embedded SQLite database under ./data, prints a first admin API key
# when none exists, and serves on 127.0.0.1:8080 (override with HERALD_* variables or .env).
run: deps
	@$(MAKE) --no-print-directory build
	@scripts/web-build.sh --if-missing || echo "dashboard not built: serving the API only" >&2
	@./$(BUILD)/herald migrate up
	@./$(BUILD)/herald keys bootstrap
	exec ./$(BUILD)/herald serve

# Every test: C unit tests, then the black-box suite on SQLite and on PostgreSQL.
test: deps-test
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory unit integration test-web

# The dashboard (web/): npm ci when needed, type check, Vite build into web/dist.
web: deps
	scripts/web-build.sh

# The dashboard's component tests and end-to-end run (Playwright + Debian chromium against
# build/herald on SQLite with the fakes); screenshots in build/e2e-screenshots/.
test-web: deps-test
	@$(MAKE) --no-print-directory build
	HERALD_BIN=$(CURDIR)/$(BUILD)/herald scripts/web-test.sh

# The store's unit tests run on SQLite and on a private PostgreSQL that with-pg.sh starts.
unit:
	cd $(BUILD) && $(CURDIR)/scripts/with-pg.sh ctest --output-on-failure -j$(JOBS)

integration:
	HERALD_BIN=$(CURDIR)/$(BUILD)/herald $(PYTHON) -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) tests/integration

# The same suites under AddressSanitizer + UndefinedBehaviorSanitizer (leaks fail).
test-asan: deps-test
	@if [ ! -f $(ASAN_BUILD)/CMakeCache.txt ]; then cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHERALD_SANITIZE=ON >/dev/null; fi
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(CURDIR)/scripts/with-pg.sh ctest --output-on-failure -j$(JOBS)
	HERALD_BIN=$(CURDIR)/$(ASAN_BUILD)/herald HERALD_SANITIZED=1 $(PYTHON) -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) tests/integration

# libFuzzer targets, each for FUZZ_SECONDS.
fuzz: deps-test
	@if [ ! -f $(FUZZ_BUILD)/CMakeCache.txt ]; then CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHERALD_FUZZ=ON >/dev/null; fi
	cmake --build $(FUZZ_BUILD) -j$(JOBS)
	@set -e; for t in $(FUZZ_BUILD)/fuzz_*; do \
		name=$$(basename $$t); mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
		echo "fuzzing $$name for $(FUZZ_SECONDS)s"; \
		$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 $(FUZZ_BUILD)/corpus/$$name tests/fuzz/seeds/$$name 2>&1 | tail -n 2; \
	done

bench: deps-test build
	bench/event_keys.sh
	bench/rss.sh
	bench/events_list.sh
	bench/sync.sh
	bench/import.sh
	bench/send.sh
	bench/ota.sh
	bench/ota_fanout.sh

docs: build
	./$(BUILD)/herald --help-config --markdown > docs/configuration.md

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
