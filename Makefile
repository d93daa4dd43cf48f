# redis-rust: build, run and test. CI runs `make test` (.ci/run).

CARGO ?= cargo
BIN := target/release/redis-rust

.PHONY: all build run deps test lint tcl-compat interop fuzz install uninstall

all: build

build:
	$(CARGO) build --release

# Starts the server with ./redis.conf (if there is one).
run: build
	./$(BIN) $(wildcard ./redis.conf)

# `make install [PREFIX=/usr/local] [DESTDIR=/staging]`: the binary, its
# redis-check-rdb/aof entry points (symlinks: the binary answers to the
# name it is run under), the config, the systemd unit and its user. The
# config is not overwritten if one is there (the new one goes beside it
# as redis.conf.new). Without DESTDIR it also creates the redis user
# (systemd-sysusers) and reloads systemd.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
INSTALL ?= install
CONFDIR := $(DESTDIR)$(SYSCONFDIR)/redis-rust

install: build
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(CONFDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	$(INSTALL) -m 755 $(BIN) $(DESTDIR)$(BINDIR)/redis-rust
	ln -sf redis-rust $(DESTDIR)$(BINDIR)/redis-rust-check-rdb
	ln -sf redis-rust $(DESTDIR)$(BINDIR)/redis-rust-check-aof
	sed -e 's|^dir \./$$|dir /var/lib/redis-rust|' \
	    -e 's|^logfile ""$$|logfile /var/log/redis-rust/redis-rust.log|' \
	    redis.conf > $(CONFDIR)/redis.conf.new
	if [ -e $(CONFDIR)/redis.conf ]; then \
		echo "kept $(CONFDIR)/redis.conf; the new one is redis.conf.new"; \
	else \
		mv $(CONFDIR)/redis.conf.new $(CONFDIR)/redis.conf; \
	fi
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    systemd/redis-rust.service.in > $(DESTDIR)$(UNITDIR)/redis-rust.service
	chmod 644 $(DESTDIR)$(UNITDIR)/redis-rust.service
	$(INSTALL) -m 644 systemd/redis-rust.sysusers $(DESTDIR)$(SYSUSERSDIR)/redis-rust.conf
	if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers $(SYSUSERSDIR)/redis-rust.conf || true; \
	fi
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi

# Leaves the config (and the data in /var/lib/redis-rust) in place.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/redis-rust $(DESTDIR)$(BINDIR)/redis-rust-check-rdb \
	    $(DESTDIR)$(BINDIR)/redis-rust-check-aof $(DESTDIR)$(UNITDIR)/redis-rust.service \
	    $(DESTDIR)$(SYSUSERSDIR)/redis-rust.conf $(CONFDIR)/redis.conf.new

# tclsh, redis-tools and python3 for the official suite (apt-get, if missing).
deps:
	tcl-compat/deps.sh

# Formatting and clippy, as STYLE.md asks of every change.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets -- -D warnings

# Lint, Rust tests, a 75-second soak (100 clients, one kill -9 + restart,
# one appendfsync-always cycle), the RDB and AOF interop tests against
# Debian's redis-server and a Redis 8.0 built from the suite's source
# package, COMMAND DOCS and the key specs compared with that Redis 8.0's
# (tests/command_docs.rs, tests/key_specs.rs), then the
# official suite's ratchet (tcl-compat/passing.txt) and the Sentinel
# suite's units in tcl-compat/sentinel.txt.
test: deps build lint
	$(CARGO) test --release
	python3 tests/soak/soak.py --minutes 1.25 --clients 100 --rate 3000
	tcl-compat/fetch.sh
	$(MAKE) interop
	$(MAKE) difftest DIFFTEST_COMMANDS=3000 DIFFTEST_SEED=1
	tcl-compat/run.sh ratchet
	tcl-compat/run.sh sentinel

# The same random command stream to real Redis 8.0 and to us, replies
# compared (tests/difftest/difftest.py); DIFFTEST_COMMANDS per protocol.
DIFFTEST_COMMANDS ?= 100000
DIFFTEST_SEED ?= 1
.PHONY: difftest
difftest: build
	r8=$$(tcl-compat/build-redis.sh) && \
	python3 tests/difftest/difftest.py --redis $$r8 --ours $(BIN) \
		--seed $(DIFFTEST_SEED) --commands $(DIFFTEST_COMMANDS)

interop:
	r8=$$(tcl-compat/build-redis.sh) && \
	REDIS8_SERVER=$$r8 REDIS8_CHECK_RDB=$$(dirname $$r8)/redis-check-rdb \
	REDIS8_CHECK_AOF=$$(dirname $$r8)/redis-check-aof \
	$(CARGO) test --release --test rdb_interop --test check -- --ignored && \
	REDIS8_SERVER=$$r8 $(CARGO) test --release --test command_docs -- --ignored && \
	REDIS8_SERVER=$$r8 $(CARGO) test --release --test key_specs -- --ignored

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

# Coverage-guided fuzzing of the parsers of untrusted bytes, on nightly
# (tests/fuzz/README.md): every target for FUZZ_SECONDS, one after another.
# New inputs go to tests/fuzz/work/<target>, crashes to tests/fuzz/artifacts.
# FUZZ_SANITIZER=none builds without ASan (several times faster; what the
# ten-million-input runs used), FUZZ_RUNS=N stops each target after N inputs.
FUZZ_SECONDS ?= 60
FUZZ_SANITIZER ?= address
FUZZ_RUNS ?= -1
FUZZ_FLAGS ?= -rss_limit_mb=2048 -malloc_limit_mb=512
fuzz:
	$(CARGO) fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz
	set -e; for t in $$($(CARGO) +nightly fuzz list --fuzz-dir tests/fuzz); do \
		mkdir -p tests/fuzz/work/$$t; \
		$(CARGO) +nightly fuzz run -O -s $(FUZZ_SANITIZER) --fuzz-dir tests/fuzz \
			--target-dir tests/fuzz/target-$(FUZZ_SANITIZER) $$t \
			tests/fuzz/work/$$t tests/fuzz/corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -runs=$(FUZZ_RUNS) $(FUZZ_FLAGS); \
	done
