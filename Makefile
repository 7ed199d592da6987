# jobsplit: the commands a user and CI need. `make demo` runs the bundled examples end to end;
# `make test` is what CI runs.

CARGO ?= cargo
# Statically linked on Linux (.cargo/config.toml): the binary every host gets.
JOBSPLIT := target/release/jobsplit
AARCH64_TARGET := aarch64-unknown-linux-musl
AARCH64_TARGET_DIR ?= target
DIST := target/dist
DEMO := target/demo

.PHONY: all build demo demo-sweep demo-pi test test-deps wheel test-python test-browser test-slurm test-gridengine test-multihost test-remote test-remote-steal test-remote-steal-faults test-remote-steal-mesh static dist aarch64-build test-aarch64 bench bench-quick bench-run bench-plan bench-map bench-merge bench-merge-files bench-output bench-scale bench-python bench-remote bench-steal-remote clean

all: build

build:
	$(CARGO) build --release

## demo: a parameter sweep of shell commands and a Monte Carlo pi, each split over three machines
demo: demo-sweep demo-pi

demo-sweep: build
	rm -rf $(DEMO)
	$(JOBSPLIT) plan --config examples/sweep/jobsplit.toml
	for m in ws1 ws2 server; do \
		$(JOBSPLIT) run --config examples/sweep/jobsplit.toml --machine $$m --yes || exit $$?; \
	done
	$(JOBSPLIT) merge $(DEMO)/out --out $(DEMO)/merged
	@echo; echo "first rows of $(DEMO)/merged/results.csv:"; head -4 $(DEMO)/merged/results.csv

demo-pi:
	rm -rf target/pi-out target/pi-merged
	$(CARGO) build --release --example monte_carlo_pi
	for m in ws1 ws2 server; do \
		target/release/examples/monte_carlo_pi run --config examples/pi.toml --machine $$m --yes --quiet || exit $$?; \
	done
	target/release/examples/monte_carlo_pi merge target/pi-out --out target/pi-merged
	target/release/examples/monte_carlo_pi estimate target/pi-merged/results.csv

## test: formatting, lints, the whole test suite (unit, property, golden, end to end) and the links in the API docs
test: test-deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) test --all-targets
	$(CARGO) test --doc
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --quiet
	$(MAKE) test-python

## test-deps: what the tests read results with (pytest; pandas, polars and duckdb for
## load()'s DataFrame and the notebook snippets; tqdm for the progress bar), from PyPI when missing
test-deps:
	python3 -c "import pytest, pandas, polars, duckdb, tqdm" >/dev/null 2>&1 || \
		python3 -m pip install -q pytest pandas polars duckdb tqdm

## wheel: the Python package and the static binary in one wheel, target/wheels/jobsplit-*.whl,
## built as `pip install .` builds it (maturin, fetched by pip)
wheel:
	rm -f target/wheels/jobsplit-*.whl
	python3 -m pip wheel -q --no-deps -w target/wheels .

## test-python: the Python package's tests against the wheel installed in a fresh venv
## (target/py-venv; it sees test-deps' packages, not the source tree or target/*/jobsplit)
test-python: test-deps wheel
	rm -rf target/py-venv
	python3 -m venv --system-site-packages target/py-venv
	target/py-venv/bin/python -m pip install -q --no-deps target/wheels/jobsplit-*.whl
	JOBSPLIT_TEST_WHEEL=$$(ls $(CURDIR)/target/wheels/jobsplit-*.whl) target/py-venv/bin/python -m pytest -q python/tests

## test-browser: the report page in a real headless chromium (Debian's, installed when missing
## and root; a missing browser fails: JOBSPLIT_REQUIRE_BROWSER=1); screenshot in target/report-browser/
test-browser: build
	command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || true
	python3 -c "import websocket" >/dev/null 2>&1 || python3 -m pip install -q websocket-client
	JOBSPLIT_REQUIRE_BROWSER=1 python3 tests/browser/report_test.py $(JOBSPLIT)

## static: the release binary, statically linked (.cargo/config.toml), checked: an ELF with no
## interpreter or shared library that runs in an empty root
static: build
	JOBSPLIT_REQUIRE_STATIC=1 $(CARGO) test --test it static_binary::release_binary

## dist: the binaries to copy to hosts, target/dist/jobsplit-x86_64-linux (static glibc, the
## release build) and target/dist/jobsplit-aarch64-linux (musl, linked by rust-lld: no C
## cross-compiler), each checked static and run (aarch64 under qemu-user), with its .sha256
dist: build aarch64-build
	mkdir -p $(DIST)
	cp $(JOBSPLIT) $(DIST)/jobsplit-x86_64-linux
	cp $(AARCH64_TARGET_DIR)/$(AARCH64_TARGET)/release/jobsplit $(DIST)/jobsplit-aarch64-linux
	cd $(DIST) && for f in jobsplit-x86_64-linux jobsplit-aarch64-linux; do sha256sum $$f > $$f.sha256; done
	JOBSPLIT_REQUIRE_DIST=1 $(CARGO) test --test it static_binary::dist_binaries

## aarch64-build: the aarch64 release build alone, in $(AARCH64_TARGET_DIR) (CI builds it in a
## target directory of its own, so that it can run beside the other steps' cargo)
aarch64-build:
	@[ "$$(uname -sm)" = "Linux x86_64" ] || { echo "make dist builds on x86_64 Linux" >&2; exit 2; }
	rustup target list --installed | grep -qx $(AARCH64_TARGET) || rustup target add $(AARCH64_TARGET)
	CARGO_TARGET_DIR=$(AARCH64_TARGET_DIR) $(CARGO) build --release --target $(AARCH64_TARGET)

## test-aarch64: the aarch64 build under qemu-user (Debian's qemu-user-static, installed when
## missing and root) computes what x86_64 computes, byte for byte: golden split-v1 plans, keys
## and seeds, the bundled examples' plans, studies run and merged (tests/aarch64/compare.py)
test-aarch64: dist
	command -v qemu-aarch64-static >/dev/null || [ "$$(id -u)" != 0 ] || { apt-get update -qq && apt-get install -y -qq qemu-user-static >/dev/null; }
	python3 tests/aarch64/compare.py $(DIST)/jobsplit-x86_64-linux $(DIST)/jobsplit-aarch64-linux

## test-multihost: `run --steal` on 3 hosts sharing OUT over sshfs (tests/multihost/run.sh; needs
## root, installs openssh-server and sshfs from Debian packages when missing): exactly once with
## unlike speeds, kill -9 and rescue, a frozen host, refusals, a claim race, helpers, late hosts
test-multihost: static
	bash tests/multihost/run.sh $(JOBSPLIT)

## test-remote: a study driven from one place over ssh (launch, watch, collect, stop, clean) on 3
## separate hosts with no shared disk, one without rsync and python3 (tests/remote/run.sh; needs
## root, installs openssh-server from Debian packages when missing): cut, heal, crash, boot,
## a payload changed on one host, hostile names and paths
test-remote: static
	bash tests/remote/run.sh $(JOBSPLIT)

## test-remote-steal: --steal-remote on 3 separate ssh hosts of speeds 1, 2, 4 (tests/remote/steal.sh;
## needs root): balance, a claim race through sessions, watch killed, a thief crashed, refusals
test-remote-steal: static
	bash tests/remote/steal.sh $(JOBSPLIT)

## test-remote-steal-faults: --steal-remote's failures on 3 separate ssh hosts (tests/remote/steal_faults.sh;
## needs root): a host cut off, frozen, crashed and relaunched; a failed hand-over; a host declared
## dead and rescued, then coming back (fenced; what ran twice reported)
test-remote-steal-faults: static
	bash tests/remote/steal_faults.sh $(JOBSPLIT)

## test-remote-steal-mesh: --steal-remote --steal-mesh on 3 ssh hosts that can ssh each other
## (tests/remote/steal_mesh.sh; needs root): hosts stealing by themselves with no launcher, a
## race with watch, a host declared dead learning it from a peer, a peer cut off
test-remote-steal-mesh: static
	bash tests/remote/steal_mesh.sh $(JOBSPLIT)

## test-slurm: a real one-node Slurm (installed from Debian packages; needs root), a 4-task array
test-slurm: static
	bash tests/slurm/run.sh $(JOBSPLIT)

## test-gridengine: a real one-node Grid Engine (Debian's gridengine-* packages, installed when
## missing; needs root): hand-written and sge-script arrays, merge held on them, a rescue
test-gridengine: static
	bash tests/gridengine/run.sh $(JOBSPLIT)

## benchmarks: figures side by side with the tools a user would otherwise use. BASELINE=PATH
## also measures that jobsplit binary (a build of an older commit) beside this one in every
## section, round by round, and adds an after / before column (bench/README.md)
BENCH_BASELINE = $(if $(BASELINE),--baseline $(BASELINE))

bench: build
	python3 bench/bench.py --jobsplit $(JOBSPLIT) $(BENCH_BASELINE)

bench-quick: build
	python3 bench/bench.py --quick --jobsplit $(JOBSPLIT) $(BENCH_BASELINE)

bench-run: build
	python3 bench/bench.py --only run --jobsplit $(JOBSPLIT) $(BENCH_BASELINE)

bench-plan: build
	python3 bench/bench.py --only plan --jobsplit $(JOBSPLIT) $(BENCH_BASELINE)

bench-map: build
	python3 bench/bench.py --only map --jobsplit $(JOBSPLIT) $(BENCH_BASELINE)

bench-merge: build
	python3 bench/bench.py --only merge --jobsplit $(JOBSPLIT) $(BENCH_BASELINE)

## bench-merge-files: merge with each job's files collected (linked, copied) beside --no-files
bench-merge-files: build
	sh bench/merge_files.sh $(JOBSPLIT)

bench-output: build
	python3 bench/bench.py --only output --jobsplit $(JOBSPLIT) $(BENCH_BASELINE)

bench-scale: build
	python3 bench/bench.py --only scale --jobsplit $(JOBSPLIT) $(BENCH_BASELINE)

## bench-python: 2,000 short Python jobs: a process per job vs persistent workers vs Pool(2)
bench-python: build
	python3 bench/bench.py --only python --jobsplit $(JOBSPLIT) $(BENCH_BASELINE)

## bench-steal-remote: balance with no shared disk on 3 ssh hosts of speeds 1, 2, 4, 300 jobs:
## makespan / ideal of the static split, --steal-remote and --steal on a shared OUT, with the
## true and with equal weights, and what a remote claim costs (root)
bench-steal-remote: static
	python3 bench/steal_remote.py $(JOBSPLIT)

## bench-remote: 3 ssh hosts x 1,000 short jobs writing a file each, laptop to merged with every
## file here: jobsplit launch/watch/collect --merge beside GNU parallel --sshlogin (root)
bench-remote: static
	bash bench/remote.sh $(JOBSPLIT)

clean:
	$(CARGO) clean
