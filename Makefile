# The two commands of the README. Each creates .venv at the repository root and installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed
FORECAST_NODEPS := statsforecast==2.1.1 mlforecast==1.1.0 fugue==0.9.7

.PHONY: demo test bench clean browser docs screenshots

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e ".[test,bench,nn]"
	# the forecast extra's three packages that declare pandas<3 (they work on pandas 3; their other
	# dependencies come with the test extra): installed without letting pip downgrade pandas
	$(VENV)/bin/python -m pip install -q --no-deps $(FORECAST_NODEPS)
	touch $(STAMP)

demo: $(STAMP)  ## fit on the bundled demo data, print the leaderboard, save, predict with the saved model
	$(VENV)/bin/mlwright demo --time-budget 20 --out demo-model

browser:  ## Debian chromium + chromium-driver for the report/dashboard tests (apt, as root, when missing)
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver with apt ..."; \
		apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; } || \
		echo "WARNING: apt could not install chromium; the browser tests will skip"; \
	else echo "note: chromium/chromium-driver missing and not root: the browser tests will skip"; fi

test: $(STAMP) browser  ## lint and run the whole test suite
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/mypy  # the core types (pyproject's [tool.mypy] files)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site  # the guide: a broken link fails
	$(VENV)/bin/python -m pytest -q -n 2 --dist worksteal  # two workers, each on a core of its own (tests/conftest.py)

screenshots: $(STAMP) browser  ## retake the guide's dashboard screenshots (docs/img) with the browser tests
	MLWRIGHT_DOCS_SCREENSHOTS=1 $(VENV)/bin/python -m pytest -q tests/test_dashboard_browser.py

docs: $(STAMP)  ## build the user guide into site/ (offline; --strict: a broken link or reference fails)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site
	@echo "open site/index.html"

bench: $(STAMP)  ## the dev suite at 60 s per dataset (~25 min); results in bench-results/
	mkdir -p bench-results
	$(VENV)/bin/python ../shared/bench/run_peer.py --system mlwright --suite dev --budget 60 \
		--out bench-results/mlwright_dev_60s.jsonl
	$(VENV)/bin/python ../shared/bench/summarize.py ../shared/bench/results/peers_dev_60s.jsonl \
		bench-results/mlwright_dev_60s.jsonl

clean:
	rm -rf $(VENV) demo-model build site *.egg-info
