# The two commands a newcomer needs: `make run` and `make test` (and `make test-fast` while working). Both
# create .venv and install requirements.txt on a fresh machine (Python 3.11 and make are all they need).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
STAMP  := $(VENV)/.installed
# Node tools that check openapi.yaml as an integrator would (Redocly, Spectral, openapi-typescript, tsc),
# pinned in package.json / package-lock.json. Node 20+ and npm are the only other needs.
NODE_BIN   := node_modules/.bin
NODE_STAMP := node_modules/.installed

.PHONY: run test test-fast lint typecheck openapi golden lock bench clean node browser-deps screenshots native native-clean

$(STAMP): requirements.txt
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

# --ignore-scripts: none of the tools needs an install script (one dependency's would only send telemetry).
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $(NODE_STAMP)

node: $(NODE_STAMP)

# The rules core compiled to C extensions with mypyc (scripts/build_native.py), as the image serves it: `make run`
# and `make bench` compile it first whenever a C compiler is there (30-45 s once, then again only when a domain
# source changes, because service/native.py refuses a compiled module that no longer matches its source).
# Without a compiler they run the pure Python: the same answers (tests/test_native.py holds a compiled copy to
# the golden answers), about 0.53 of the minimal app's throughput against 0.59-0.61 compiled (docs/production.md,
# "Compiled rules core"). NATIVE=0 skips the build; `make native-clean` removes one. `make test` and
# `make test-fast` run whichever core is built (on CI's fresh clone, the pure Python).
NATIVE ?= 1
NATIVE_STAMP   := service/domain/_native.json
DOMAIN_SOURCES := $(filter-out service/domain/__init__.py service/domain/errors.py,$(wildcard service/domain/*.py))
NATIVE_IF_BUILT := $(if $(wildcard service/domain/*.so),$(NATIVE_STAMP))
NATIVE_FOR_SERVING := $(if $(filter 1,$(NATIVE)),$(NATIVE_STAMP),$(NATIVE_IF_BUILT))

$(NATIVE_STAMP): $(STAMP) $(DOMAIN_SOURCES) scripts/build_native.py service/native.py
	$(BIN)/python -m scripts.build_native

native: $(NATIVE_STAMP)

native-clean: $(STAMP)
	$(BIN)/python -m scripts.build_native --clean

run: $(STAMP) $(NATIVE_FOR_SERVING)
	$(BIN)/gunicorn --config deploy/gunicorn.conf.py --bind 0.0.0.0:$(PORT) 'service.app:create_app()'

# Everything, as CI runs it (.ci/run): end to end over gunicorn, faults, the browser, generated clients,
# contract fuzzing, the golden answers, one smoke run of each benchmark.
test: $(STAMP) $(NATIVE_IF_BUILT) $(NODE_STAMP) browser-deps
	$(BIN)/python -m pytest

# The domain, API and contract tests, in-process only: no server, browser, Node tools, fuzzing or benchmarks
# (the markers are described in pyproject.toml). Under a minute on two cores.
FAST := not (e2e or browser or faults or clients or contract or bench or slow or valgrind)
# Modules every test of which is outside the tier are not even collected: collecting the contract fuzz alone
# builds its schemathesis tests (about 6 s), and its pytest plugin is left unloaded with it. Two processes
# (pytest-xdist), one a CPU: each test stands alone (its own app or tmp_path).
FAST_SKIPPED_MODULES := test_contract_fuzz test_clients test_clinic_browser test_e2e test_interop_e2e test_production_e2e
test-fast: $(STAMP) $(NATIVE_IF_BUILT)
	$(BIN)/python -m pytest -q -n 2 -p no:schemathesis $(FAST_SKIPPED_MODULES:%=--ignore=tests/%.py) -m "$(FAST)"

# The clinic page's browser tests drive Debian's Chromium (a browser download fails on these machines) and
# inject axe-core from npm (package.json). The Debian packages are installed when missing, as root (as on CI).
# Without root the browser tests are skipped with the reason, except on CI, where they fail.
browser-deps:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	else echo "chromium/chromium-driver missing and not root: the browser tests will be skipped" \
	  "(sudo apt-get install -y chromium chromium-driver)"; fi

# Screenshots of the clinic page and the yellow fever letter in docs/ (the Ghana case, as_of 2026-11-24).
screenshots: $(STAMP) $(NODE_STAMP) browser-deps
	$(BIN)/python -m scripts.screenshots

lint: $(STAMP) $(NODE_STAMP)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(NODE_BIN)/redocly lint openapi.yaml
	$(NODE_BIN)/spectral lint --fail-severity=warn openapi.yaml
	$(BIN)/ruff check service tests scripts
	$(BIN)/ruff format --check service tests scripts
	$(BIN)/mypy
	$(BIN)/hadolint --no-color --failure-threshold info deploy/Dockerfile
	$(BIN)/kubernetes-validate --strict --quiet -k 1.33.0 deploy/k8s/*.yaml

openapi: $(STAMP)
	$(BIN)/python -m scripts.write_openapi --examples
	$(BIN)/python -m scripts.write_openapi openapi.yaml
	$(BIN)/python -m scripts.readme_example --write
	$(BIN)/python -m scripts.doc_examples --write

# Record the golden answers again (tests/golden/): run it when a change to the rules or the data is meant to
# change answers, and read the diff it prints before committing the new file.
golden: $(STAMP) $(NATIVE_IF_BUILT)
	$(BIN)/python -m scripts.golden --write

lock:
	rm -rf /tmp/planner-lock && $(PYTHON) -m venv /tmp/planner-lock
	/tmp/planner-lock/bin/pip install --quiet -r requirements.in
	{ echo "# Pinned: every package the service, its tests and its tools use (pip freeze of requirements.in)."; \
	  echo "# Regenerate: make lock"; /tmp/planner-lock/bin/pip freeze --all --exclude pip; } > requirements.txt
	cd $(CURDIR) && /tmp/planner-lock/bin/python -m scripts.runtime_requirements

# Throughput and latency over HTTP (the service against a minimal Flask app, both under gunicorn, loaded
# with wrk on loopback; installs wrk when missing and root), then the planner in-process (pytest-benchmark),
# then the instruction counter's smoke check under valgrind when it is installed. Results in bench-results/.
# See docs/production.md for the figures and how to read them.
bench: $(STAMP) $(NATIVE_FOR_SERVING)
	mkdir -p bench-results
	$(BIN)/python -m scripts.bench
	$(BIN)/python -m pytest -q -m bench --benchmark-enable --benchmark-json=bench-results/planner.json \
	  --benchmark-columns=min,median,mean,rounds --benchmark-sort=name tests/test_bench_planner.py
	$(BIN)/python -m pytest -q -m valgrind tests/test_bench_planner.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis .benchmarks bench-results build
	rm -f service/domain/*.so service/domain/_native.json planner_domain__mypyc*.so
