# redis-rust: build, run and test. CI runs `make test` (.ci/run).

CARGO ?= cargo
BIN := target/release/redis-rust

.PHONY: all build run deps test lint tcl-compat interop

all: build

build:
	$(CARGO) build --release

# Starts the server with ./redis.conf (if there is one).
run: build
	./$(BIN) $(wildcard ./redis.conf)

# tclsh, redis-tools and python3 for the official suite (apt-get, if missing).
deps:
	tcl-compat/deps.sh

# Formatting and clippy, as STYLE.md asks of every change.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets -- -D warnings

# Lint, Rust tests, the RDB and AOF interop tests against Debian's redis-server and
# a Redis 8.0 built from the suite's source package, then the official
# suite's ratchet (tcl-compat/passing.txt).
test: deps build lint
	$(CARGO) test --release
	tcl-compat/fetch.sh
	$(MAKE) interop
	tcl-compat/run.sh ratchet

interop:
	r8=$$(tcl-compat/build-redis.sh) && \
	REDIS8_SERVER=$$r8 REDIS8_CHECK_RDB=$$(dirname $$r8)/redis-check-rdb \
	REDIS8_CHECK_AOF=$$(dirname $$r8)/redis-check-aof \
	$(CARGO) test --release --test rdb_interop -- --ignored

# Every unit of the official suite, with a tally (tcl-compat/results/).
tcl-compat: deps build
	tcl-compat/fetch.sh
	tcl-compat/run.sh all

# Side by side with Debian's redis-server (bench/README.md); writes bench/results.md.
# BENCH_QUICK=1 for a one-minute smoke run (writes bench/results-quick.md).
.PHONY: bench
bench: build
	python3 bench/bench.py

# Soak under hostile load (tests/soak/soak.py): 500 clients, eviction,
# BGSAVE/BGREWRITEAOF, kill -9 and restarts, an appendfsync-always cycle
# whose acknowledged writes must all survive. Writes the Reliability
# section of bench/results.md.
SOAK_MINUTES ?= 30
.PHONY: soak
soak: build
	python3 tests/soak/soak.py --minutes $(SOAK_MINUTES) --results
