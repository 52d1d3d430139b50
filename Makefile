SHELL := /bin/bash
# Herald's two commands: `make run` and `make test`. Each installs what it needs on a fresh
# Debian bookworm machine (Debian packages via apt-get as root, npm packages from the lockfile).

BUILD     ?= build
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 10
JOBS      ?= $(shell nproc)
ARGS      ?=

BUILD_PACKAGES := cmake ninja-build g++ ccache pkg-config libboost-dev libboost-system-dev libssl-dev \
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libhiredis-dev \
  libmsgpack-cxx-dev libcurl4-openssl-dev libsystemd-dev libcrypt-dev libsimdjson-dev
TEST_PACKAGES := googletest libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev \
  redis-server haproxy python3 systemd openssl chromium \
  python3-socketio python3-engineio python3-websocket python3-requests
# `make package`: CPack's DEB generator runs dpkg-shlibdeps (dpkg-dev), which needs `file`.
PACKAGE_PACKAGES := dpkg-dev file

.PHONY: all build build-served run test deps test-deps unit fuzz integration package packaging sanitize sanitize-address sanitize-thread \
  sanitize-all format tidy clean

all: build

# Installs the Debian packages that are missing (apt-get needs root; sudo is used if present).
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

apt_install_now = { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(1); }

deps:
	$(call apt_install,$(BUILD_PACKAGES))

test-deps: deps
	$(call apt_install,$(TEST_PACKAGES))
	@# Node and npm come with the machine; Debian's own are only a fallback (they conflict with others).
	@command -v npm >/dev/null || $(call apt_install_now,nodejs npm)
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi

# The Admin UI's built page, from the @socket.io/admin-ui npm package (installed with the test
# packages): `make run` serves it from here, `make package` installs it in /usr/share/herald/admin-ui.
ADMIN_UI_PAGE := node_modules/@socket.io/admin-ui/ui/dist/index.html

$(ADMIN_UI_PAGE):
	@command -v npm >/dev/null || $(call apt_install_now,nodejs npm)
	npm ci --no-audit --no-fund

# Every build here is a unity build (a target's files compiled in batches of 16: the headers they
# share parsed once per batch) with line tables for debugging information (-g1: backtraces and
# profiles keep their functions, files and lines). A clean `make test` compiles the tree four
# times, and this halves each. Plain `cmake` builds file by file with full debugging information.
FAST_BUILD := -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16
RELEASE_BUILD := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" $(FAST_BUILD)

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(RELEASE_BUILD)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build $(ADMIN_UI_PAGE)
	./$(BUILD)/herald $(ARGS)

# What the integration and packaging tests run: everything but the unit tests, which `make test`
# runs from the AddressSanitizer + UBSan build (so they are compiled once there, not twice).
SERVED_TARGETS := herald herald-bench echo_server chat_server push_server herald_toml

build-served: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target $(SERVED_TARGETS)

# The stages one after another, each timed; the times are printed at the end, also when one fails.
# The unit tests run in sanitize-address (`make unit` runs them from this build).
TEST_STAGES := build-served fuzz integration packaging sanitize-address sanitize-thread

test: test-deps
	@set -e; start=$$(date +%s); times=""; \
	report() { echo "== stage times:$$times; total $$(( $$(date +%s) - start )) s"; }; \
	for stage in $(TEST_STAGES); do \
	  began=$$(date +%s); \
	  if ! $(MAKE) --no-print-directory $$stage; then times="$$times $$stage FAILED after $$(( $$(date +%s) - began )) s"; report; exit 1; fi; \
	  times="$$times $$stage $$(( $$(date +%s) - began )) s,"; \
	done; report
	@echo "All tests passed."

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Each decoder's fuzzer runs for FUZZ_SECONDS with sanitizers, starting from the checked-in corpus.
fuzz:
	@[ -f $(FUZZ_BUILD)/build.ninja ] || CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DHERALD_FUZZ=ON $(RELEASE_BUILD)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@set -e; for target in $(FUZZ_BUILD)/fuzz_*; do \
	  name=$$(basename $$target); corpus=$$(mktemp -d); log=$$(mktemp); \
	  [ -d tests/fuzz/corpus/$$name ] && cp -r tests/fuzz/corpus/$$name/. $$corpus/; \
	  dict=""; [ -f tests/fuzz/$$name.dict ] && dict="-dict=tests/fuzz/$$name.dict"; \
	  echo "fuzzing $$name for $(FUZZ_SECONDS)s"; \
	  if ! $$target $$dict -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/ $$corpus >$$log 2>&1; then \
	    tail -60 $$log; echo "$$name found a failure (input saved in $(FUZZ_BUILD)/)"; exit 1; \
	  fi; \
	  grep -E 'stat::number_of_executed_units' $$log || true; rm -rf $$corpus $$log; \
	done

integration: build-served
	npm test

# The server as a Debian package, from the build directory: $(BUILD)/package/herald_<version>_<arch>.deb
# with /usr/bin/herald, /usr/bin/herald-bench, /etc/herald/herald.toml and the systemd unit.
package: build $(ADMIN_UI_PAGE)
	$(call apt_install,$(PACKAGE_PACKAGES))
	cd $(BUILD) && cpack -G DEB

# The library installed into a prefix and examples/ built against it (a build of the examples
# only, kept in $(BUILD)/packaging-test), and the Debian package checked and its unit verified.
packaging: build-served $(ADMIN_UI_PAGE)
	$(call apt_install,$(PACKAGE_PACKAGES))
	BUILD_DIR=$(BUILD) node --test --test-concurrency=1 tests/packaging/

# Sanitizer builds (Debug -O1 -g1) run the tests that drive the server's threads: every loop,
# cross-loop moves, receipts, clusters, shutdown. AddressSanitizer + UBSan take the unit tests, the
# echo_server protocol suites and the herald tests; ThreadSanitizer, the costliest build, takes
# herald and its threaded tests.
ASAN_TESTS := tests/integration/client-upgrade.test.mjs tests/integration/engineio-protocol.test.mjs \
  tests/integration/socketio-protocol.test.mjs tests/integration/herald-binary.test.mjs \
  tests/integration/push-receipts.test.mjs tests/integration/push-users.test.mjs \
  tests/integration/cluster-push.test.mjs tests/integration/websocket-edge.test.mjs \
  tests/integration/recovery.test.mjs tests/integration/delivery.test.mjs tests/integration/hostile-input.test.mjs \
  tests/integration/cluster-delivery.test.mjs tests/integration/client-eio3.test.mjs \
  tests/integration/client-msgpack.test.mjs \
  tests/integration/cluster-recovery.test.mjs \
  tests/integration/tls.test.mjs tests/integration/edge-proxy-protocol.test.mjs \
  tests/integration/edge-slowloris.test.mjs tests/integration/client-auth-webhook.test.mjs
TSAN_TESTS := tests/integration/herald-binary.test.mjs tests/integration/push-receipts.test.mjs \
  tests/integration/push-users.test.mjs tests/integration/cluster-push.test.mjs \
  tests/integration/recovery.test.mjs tests/integration/delivery.test.mjs tests/integration/cluster-delivery.test.mjs \
  tests/integration/cluster-recovery.test.mjs

# Debug (assertions on) at -O1, with line tables only (stack traces keep their files and lines).
SANITIZE_CMAKE := -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 -DCMAKE_CXX_FLAGS_DEBUG=-g1 $(FAST_BUILD)
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
TSAN_ENV := TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# A sanitized server is slower: the tests' upper time bounds (an answer within 300 ms, a wait for
# an event, a test's limit) are multiplied by these (tests/integration/lib/timing.mjs); the
# timeouts they configure in the server are not.
ASAN_TIME_SCALE ?= 3
TSAN_TIME_SCALE ?= 5

sanitize: sanitize-address sanitize-thread

build-asan/build.ninja:
	cmake -S . -B build-asan -G Ninja $(SANITIZE_CMAKE) -DHERALD_SANITIZE=address,undefined

build-tsan/build.ninja:
	cmake -S . -B build-tsan -G Ninja $(SANITIZE_CMAKE) -DHERALD_SANITIZE=thread

sanitize-address: build-asan/build.ninja
	cmake --build build-asan -j $(JOBS) --target herald echo_server unit_tests
	@echo "== unit tests under AddressSanitizer + UBSan"
	$(ASAN_ENV) build-asan/unit_tests --gtest_brief=1
	@echo "== integration tests under AddressSanitizer + UBSan"
	HERALD_BIN=build-asan/herald ECHO_SERVER=build-asan/echo_server HERALD_TEST_TIME_SCALE=$(ASAN_TIME_SCALE) $(ASAN_ENV) \
	  node --test --test-concurrency=1 $(ASAN_TESTS)

sanitize-thread: build-tsan/build.ninja
	cmake --build build-tsan -j $(JOBS) --target herald
	@echo "== integration tests under ThreadSanitizer"
	HERALD_BIN=build-tsan/herald HERALD_TEST_TIME_SCALE=$(TSAN_TIME_SCALE) $(TSAN_ENV) \
	  node --test --test-concurrency=1 $(TSAN_TESTS)

# The whole integration suite (what `npm test` runs) under each sanitizer, after the unit tests
# under AddressSanitizer + UBSan: every test that starts herald or echo_server starts the sanitized
# one (herald-bench and herald.toml are taken from beside herald). Too long for `make test` (the
# suite takes about 15 min under AddressSanitizer on 2 cores, longer under ThreadSanitizer), so it
# is run by hand, e.g. before a release. Both suites run even if the first fails.
SANITIZED_TARGETS := herald echo_server herald-bench herald_toml

sanitize-all: build-asan/build.ninja build-tsan/build.ninja
	cmake --build build-asan -j $(JOBS) --target $(SANITIZED_TARGETS) unit_tests
	cmake --build build-tsan -j $(JOBS) --target $(SANITIZED_TARGETS)
	@echo "== unit tests under AddressSanitizer + UBSan"
	$(ASAN_ENV) build-asan/unit_tests --gtest_brief=1
	@failed=""; \
	echo "== the whole integration suite under AddressSanitizer + UBSan"; \
	HERALD_BIN=build-asan/herald ECHO_SERVER=build-asan/echo_server HERALD_TEST_TIME_SCALE=$(ASAN_TIME_SCALE) $(ASAN_ENV) \
	  node --test --test-concurrency=1 tests/integration/ || failed="$$failed AddressSanitizer"; \
	echo "== the whole integration suite under ThreadSanitizer"; \
	HERALD_BIN=build-tsan/herald ECHO_SERVER=build-tsan/echo_server HERALD_TEST_TIME_SCALE=$(TSAN_TIME_SCALE) $(TSAN_ENV) \
	  node --test --test-concurrency=1 tests/integration/ || failed="$$failed ThreadSanitizer"; \
	if [ -n "$$failed" ]; then echo "== integration suite failed under:$$failed"; exit 1; fi

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.hpp' 'examples/*.cpp' 'tests/*.cpp' 'tools/*.cpp' 'tools/*.hpp')

# clang-tidy reads each file's own compile command: a file-by-file configuration of its own.
tidy:
	@[ -f build-tidy/build.ninja ] || cmake -S . -B build-tidy -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	clang-tidy -p build-tidy --quiet $$(git ls-files 'src/*.cpp' 'examples/*.cpp')

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) build-asan build-tsan build-tidy
