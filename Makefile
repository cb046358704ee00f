# Every target the README names. `make run` and `make test` do all set-up themselves.
SHELL := /bin/bash
PY := .venv/bin/python
DEMO_SCALE ?= small
DEMO_SEED ?= 7
DEMO_AS_OF ?= 2025-11-20
DEMO_SOURCES := data/demo/sources
DEMO_RUN := runs/demo
PORT ?= 8501

.PHONY: setup system-deps run demo-data demo-run test test-fast neo4j-up neo4j-down postgres-up postgres-down lint format bench clean

setup: .venv/.installed

.venv/.installed: requirements.txt pyproject.toml
	@echo "setting up Python packages in .venv (pip install -r requirements.txt; the first time takes a few minutes)…"
	@test -x $(PY) || python3 -m venv .venv
	@.venv/bin/pip install -q -r requirements.txt
	@.venv/bin/pip install -q --no-deps -e .
	@touch $@
	@echo "Python packages ready"

# Debian packages for browser tests, PDF/Chinese fonts and the register's PostgreSQL server
# (needs root; .ci/run calls it).
system-deps:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "wenquanyi" \
		|| ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium fonts-wqy-microhei fonts-noto-color-emoji postgresql >/dev/null; fi

$(DEMO_SOURCES)/calls.csv $(DEMO_SOURCES)/calls.xlsx:
	$(MAKE) demo-data

demo-data: setup
	@if ! ls $(DEMO_SOURCES)/calls.* >/dev/null 2>&1; then \
		echo "generating the demo city ($(DEMO_SCALE), seed $(DEMO_SEED)) into $(DEMO_SOURCES)…"; \
		$(PY) cli.py generate --scale $(DEMO_SCALE) --seed $(DEMO_SEED) --out $(DEMO_SOURCES) >/dev/null \
			&& echo "demo city ready"; \
	else echo "demo city: $(DEMO_SOURCES) (already there)"; fi

demo-run: demo-data
	@if [ ! -f $(DEMO_RUN)/manifest.json ]; then \
		echo "scoring the demo city as of $(DEMO_AS_OF): ingest, graph features, backtest, model, scores, teams (about a minute; longer on a busy machine)…"; \
		$(PY) cli.py run --sources $(DEMO_SOURCES) --as-of $(DEMO_AS_OF) --out $(DEMO_RUN) >/dev/null \
			&& echo "scored: $(DEMO_RUN)"; \
	else echo "scores: $(DEMO_RUN) (already there)"; fi

run: demo-run
	@echo "starting the dashboard: http://127.0.0.1:$(PORT) (another port: make run PORT=8502; stop with Ctrl-C)"
	@RUN_DIR=$(DEMO_RUN) .venv/bin/streamlit run serve.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

test: setup
	@$(MAKE) --no-print-directory neo4j-up postgres-up
	@status=0; $(PY) -m pytest $(PYTEST_ARGS) || status=$$?; \
		$(MAKE) --no-print-directory neo4j-down postgres-down; exit $$status

test-fast: setup
	$(PY) -m pytest -m "not neo4j and not postgres and not browser and not slow" $(PYTEST_ARGS)

neo4j-up:
	@bash ops/neo4j/neo4j.sh up

neo4j-down:
	@bash ops/neo4j/neo4j.sh down

postgres-up:
	@bash ops/postgres/postgres.sh up

postgres-down:
	@bash ops/postgres/postgres.sh down

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	$(PY) -m security.secret_scan .

format: setup
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench: setup
	$(PY) cli.py bench --scale small

clean:
	rm -rf runs var .pytest_cache
