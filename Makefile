# The two commands a newcomer needs: `make run` and `make test`. Both create .venv and install
# requirements.txt on a fresh machine (Python 3.11 and make are all they need).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
STAMP  := $(VENV)/.installed
AXE    := node_modules/axe-core/axe.min.js

.PHONY: run test lint typecheck openapi lock bench clean browser-deps screenshots

$(STAMP): requirements.txt
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/gunicorn --config deploy/gunicorn.conf.py --bind 0.0.0.0:$(PORT) 'service.app:create_app()'

test: $(STAMP) browser-deps $(AXE)
	$(BIN)/python -m pytest

# The clinic page's browser tests drive Debian's Chromium (a browser download fails on these machines) and
# inject axe-core from npm. Installed when missing: the Debian packages as root (as on CI), axe-core with
# npm ci. Without root the browser tests are skipped with the reason, except on CI, where they fail.
browser-deps:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	else echo "chromium/chromium-driver missing and not root: the browser tests will be skipped" \
	  "(sudo apt-get install -y chromium chromium-driver)"; fi

$(AXE): package.json package-lock.json
	@if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y npm; fi
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund && touch $(AXE); \
	else echo "npm missing and not root: the accessibility checks will be skipped"; fi

# Screenshots of the clinic page and the yellow fever letter in docs/ (the Ghana case, as_of 2026-11-24).
screenshots: $(STAMP) browser-deps $(AXE)
	$(BIN)/python -m scripts.screenshots

lint: $(STAMP)
	$(BIN)/ruff check service tests scripts
	$(BIN)/ruff format --check service tests scripts
	$(BIN)/mypy
	$(BIN)/hadolint --no-color --failure-threshold info deploy/Dockerfile
	$(BIN)/kubernetes-validate --strict --quiet -k 1.33.0 deploy/k8s/*.yaml

openapi: $(STAMP)
	$(BIN)/python -m scripts.write_openapi --examples
	$(BIN)/python -m scripts.write_openapi openapi.yaml

lock:
	rm -rf /tmp/planner-lock && $(PYTHON) -m venv /tmp/planner-lock
	/tmp/planner-lock/bin/pip install --quiet -r requirements.in
	{ echo "# Pinned: every package the service, its tests and its tools use (pip freeze of requirements.in)."; \
	  echo "# Regenerate: make lock"; /tmp/planner-lock/bin/pip freeze; } > requirements.txt
	cd $(CURDIR) && /tmp/planner-lock/bin/python -m scripts.runtime_requirements

# Throughput and latency over HTTP (the service against a minimal Flask app, both under gunicorn, loaded
# with wrk on loopback; installs wrk when missing and root), then the planner in-process (pytest-benchmark).
# Results in bench-results/. See docs/production.md for the figures and how to read them.
bench: $(STAMP)
	mkdir -p bench-results
	$(BIN)/python -m scripts.bench
	$(BIN)/python -m pytest -q -m bench --benchmark-enable --benchmark-json=bench-results/planner.json \
	  --benchmark-columns=min,median,mean,rounds --benchmark-sort=name tests/test_bench_planner.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis .benchmarks bench-results
