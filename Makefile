# Huren — the two commands a new user needs:  `make demo`  and  `make test`.
# Both install what they need on first use (Python venv, npm toolchain).
SHELL := /bin/bash
PY    := .venv/bin/python
VENV_STAMP := .venv/.installed
NPM_STAMP  := node_modules/.installed
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
# PostgreSQL used by the read-model and store tests; CI=true makes it mandatory.
export HUREN_TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: all runtime setup test test-contracts test-python test-js lint demo snapshot bench clean

all: test

$(VENV_STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -e '.[dev]'
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Debian packages: zbar decodes QR images (API uploads and tests). Installed once, as root.
SYSTEM_STAMP := .venv/.system-packages
$(SYSTEM_STAMP): | $(VENV_STAMP)
	@if ! ldconfig -p | grep -q libzbar.so.0 || ! command -v zbarimg >/dev/null; then \
	  echo "installing Debian packages: libzbar0 zbar-tools"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libzbar0 zbar-tools) \
	  || { echo "could not install libzbar0/zbar-tools (run as root or install them yourself)"; exit 1; }; \
	fi
	touch $@

# Debian packages for the web pages' browser tests: Chromium (driven by Playwright, which must never
# download a browser of its own), ffmpeg (turns a QR screenshot into the fake camera's Y4M clip) and a
# CJK font (Chinese text in screenshots). Installed once, as root; skipped when already present.
BROWSER_STAMP := .venv/.browser-packages
$(BROWSER_STAMP): | $(VENV_STAMP)
	@if ! command -v chromium >/dev/null || ! command -v ffmpeg >/dev/null || ! fc-list :lang=zh | grep -q .; then \
	  echo "installing Debian packages: chromium ffmpeg fonts-wqy-microhei"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium ffmpeg fonts-wqy-microhei) \
	  || { echo "could not install chromium/ffmpeg/fonts-wqy-microhei (run as root or install them yourself)"; exit 1; }; \
	fi
	touch $@

# Debian's wrk: the HTTP load generator of bench/verify.py (not needed by the tests). Installed once, as root.
BENCH_STAMP := .venv/.bench-packages
$(BENCH_STAMP): | $(VENV_STAMP)
	@if ! command -v wrk >/dev/null; then \
	  echo "installing Debian package: wrk"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) \
	  || { echo "could not install wrk (run as root or install it yourself); bench/verify.py falls back to httpx"; }; \
	fi
	touch $@

# What the demo and the API need; the tests add the browser packages (setup).
runtime: $(VENV_STAMP) $(NPM_STAMP) $(SYSTEM_STAMP)

setup: runtime $(BROWSER_STAMP)

lint: setup
	.venv/bin/ruff check .

test-contracts: setup
	forge test
	tools/check-gas-snapshot

# Two pytest processes at once (tools/pytest-in-parallel: most tests wait on anvil, HTTP and the
# databases); pytest's exit 5 (collected nothing) is a failure of the suite there, not a pass.
test-python: setup
	PY=$(PY) tools/pytest-in-parallel

# The JavaScript verifier against the conformance vectors (tests/vectors/hr1).
test-js: runtime
	node --test tests/js/

test: lint test-contracts test-python test-js

# The benchmarks of bench/README.md, one after another (about 5 minutes; figures on standard output).
bench: runtime $(BENCH_STAMP)
	$(PY) -m bench.indexer
	$(PY) -m bench.issue
	$(PY) -m bench.verify

snapshot: runtime
	forge snapshot

demo: runtime
	$(PY) -m api.demo

clean:
	rm -rf out cache .pytest_cache .hypothesis
