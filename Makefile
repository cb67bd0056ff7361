# relaytrail — every dataset is regenerated from the previous stage by a target here.
# `make -n <target>` shows exactly what runs.

SHELL := bash
CACHE_HOME := $(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME),$(HOME)/.cache)
export CARGO_TARGET_DIR ?= $(CACHE_HOME)/relaytrail-target
BIN := $(CARGO_TARGET_DIR)/release/relaytrail
VENV ?= $(CACHE_HOME)/relaytrail-venv
PYTHON := $(VENV)/bin/python

RAW ?= data/raw
WAREHOUSE ?= data/warehouse
DEMO_RAW ?= data/demo/raw
DEMO_WAREHOUSE ?= data/demo/warehouse
BENCH_DIR ?= data/bench

.PHONY: build test module-graph test-rust test-python browser-test venv download import jobs attribute report notebooks screenshot demo demo-data real-sample real-presence bench bench-scale bench-study fuzz fmt lint clean

build:
	cargo build --release

## Rust unit and integration tests, the Python checks of the written Parquet, the real-data
## study, and every notebook executed against the demo warehouse.
test: module-graph test-rust test-python real-sample notebooks browser-test

## The house rules of src/: no import up (into a containing module or a higher layer), no circle,
## no file over 900 lines before its tests.
module-graph:
	python3 scripts/module_graph.py src

test-rust:
	cargo test --release

test-python: build venv
	RELAYTRAIL_BIN=$(BIN) $(PYTHON) -m pytest -q tests/python --ignore=tests/python/test_report_browser.py

## The demo and real-sample reports opened in headless Chromium (Debian's chromium; Playwright
## drives the system browser): charts with data and readable axes, sections, sorting.
browser-test: venv demo real-sample
	$(PYTHON) -m pytest -q tests/python/test_report_browser.py

## Python environment (pinned) for the Parquet checks and the notebooks.
venv: $(VENV)/.installed
$(VENV)/.installed: tests/python/requirements.txt notebooks/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check \
	  -r tests/python/requirements.txt -r notebooks/requirements.txt
	touch $@

## CollecTor tarballs into $(RAW)/collector/archive/<folder>/ (CollecTor's own layout): resumable,
## sizes and sha256 verified against CollecTor's index. Months: YYYY-MM, YYYY-MM:YYYY-MM or lists.
## Types: consensuses server-descriptors extra-infos votes microdescs bandwidths statuses exit-list
## bridge-statuses bridge-server-descriptors bridge-extra-infos bridge-pool-assignments.
MONTHS ?=
TYPES ?= consensuses,server-descriptors,exit-list
COLLECTOR_URL ?= https://collector.torproject.org
DOWNLOAD_RETRIES ?= 5
download:
	@test -n "$(MONTHS)" || { echo "make download: set MONTHS, e.g. MONTHS=2021-09:2021-12" >&2; exit 2; }
	python3 scripts/collector_download.py --months $(MONTHS) --types $(TYPES) \
	  --dest $(RAW)/collector --url $(COLLECTOR_URL) --retries $(DOWNLOAD_RETRIES)

## Import everything under $(RAW) (tarballs, recent/ files, folders) into $(WAREHOUSE).
import: build
	$(BIN) import $(RAW) --warehouse $(WAREHOUSE)

## Derived datasets (sessions, relays, probabilities, hourly series, events) of $(WAREHOUSE).
## AS data: every iptoasn TSV / .mmdb under $(RAW)/asn (override with ASN_DB="a.tsv b.mmdb@2021-10-01").
ASN_DB ?= $(wildcard $(RAW)/asn/*.tsv $(RAW)/asn/*.mmdb)
jobs: build
	$(BIN) jobs --warehouse $(WAREHOUSE) $(foreach f,$(ASN_DB),--asn-db $(f))

## Actors with evidence (actors, actor_members, actor_timeline) from the job datasets.
attribute: build
	$(BIN) attribute --warehouse $(WAREHOUSE)

## The HTML report of $(WAREHOUSE) into $(REPORT).
REPORT ?= data/reports/latest
report: build
	$(BIN) report --warehouse $(WAREHOUSE) --out $(REPORT)

## Every notebook in notebooks/ executed headless against the demo warehouse (NOTEBOOK_WAREHOUSE=
## to use another); executed copies with outputs in $(NOTEBOOK_OUT).
NOTEBOOK_WAREHOUSE ?= $(DEMO_WAREHOUSE)
NOTEBOOK_OUT ?= data/reports/notebooks
notebooks: venv $(if $(filter $(DEMO_WAREHOUSE),$(NOTEBOOK_WAREHOUSE)),demo)
	$(PYTHON) scripts/run_notebooks.py --warehouse $(NOTEBOOK_WAREHOUSE) --out $(NOTEBOOK_OUT) notebooks/*.ipynb

## Full-page PNGs of the reports in $(SCREENSHOT_REPORTS) rendered by headless Chromium
## (Debian: apt install chromium): <report>/screenshot.png.
CHROMIUM ?= chromium
SCREENSHOT_REPORTS ?= data/reports/demo data/reports/real-sample data/reports/real-presence
screenshot:
	for report in $(SCREENSHOT_REPORTS); do \
	  $(CHROMIUM) --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	    --disable-background-networking --disable-component-update --disable-sync \
	    --user-data-dir=$$(mktemp -d) --hide-scrollbars --window-size=1100,6000 \
	    --screenshot=$$report/screenshot.png file://$$(realpath $$report)/index.html || exit 2; \
	  echo "screenshot: $$report/screenshot.png"; \
	done

## The README's first command: generate the demo archive, import it, add each planted actor's
## relay list as a watchlist, run the jobs and the attribution, score the attribution against
## the generator's ground truth and against the kax17 list, write the report.
demo: demo-data
	$(BIN) import $(DEMO_RAW) --warehouse $(DEMO_WAREHOUSE)
	for list in $(DEMO_RAW)/ground_truth/lists/*.csv; do $(BIN) watchlist add $$list --warehouse $(DEMO_WAREHOUSE) || exit 2; done
	$(BIN) jobs --warehouse $(DEMO_WAREHOUSE) --asn-db $(DEMO_RAW)/asn/ip2asn-v4.tsv --pipeline pipelines/demo.toml
	$(BIN) attribute --warehouse $(DEMO_WAREHOUSE) --pipeline pipelines/demo.toml
	$(BIN) evaluate --warehouse $(DEMO_WAREHOUSE) --truth $(DEMO_RAW) --watchlist kax17
	$(BIN) report --warehouse $(DEMO_WAREHOUSE) --out data/reports/demo
	@echo "demo report: $(abspath data/reports/demo/index.html) (open it in a browser; tables in data/reports/demo/tables)"

## The small default demo archive (regenerated when the default scenario or the generator changes).
demo-data: $(DEMO_RAW)/.generated
$(DEMO_RAW)/.generated: data/scenarios/default.toml $(wildcard src/synth/*.rs)
	$(MAKE) build
	rm -rf $(DEMO_RAW) $(DEMO_WAREHOUSE)
	$(BIN) generate --out $(DEMO_RAW) --start 2021-08 --months 5 --relays 1500 --seed 1
	touch $@

## The real-data study that runs offline: the shared real series (../shared/fixtures/real-series)
## through import, jobs, attribution and report (data/reports/real-sample/index.html).
REAL_SERIES ?= ../shared/fixtures/real-series
real-sample: build
	@test -d $(REAL_SERIES) || { echo "make real-sample: $(REAL_SERIES) not found (the shared fixtures beside the clone)" >&2; exit 2; }
	$(BIN) run pipelines/real-sample.toml

## A month of the real network's hourly presence (../shared/fixtures/real-presence/).
real-presence: build
	@test -d ../shared/fixtures/real-presence || { echo "make real-presence: ../shared/fixtures/real-presence not found (the shared fixtures beside the clone)" >&2; exit 2; }
	$(BIN) run pipelines/real-presence.toml

## Import throughput against decode-only time and peak RSS; results in $(BENCH_DIR)/results.md.
bench: build venv
	PYTHON=$(PYTHON) scripts/bench.sh $(BIN) $(BENCH_DIR)

## Jobs, attribution and report over 1, 2, 5 and 10 years: a generated half year (7000 relays) and
## copies of it with new identities (scripts/replicate_warehouse.py); $(BENCH_DIR)/scale.md, spliced
## into $(BENCH_DIR)/results.md. SCALE_YEARS, SCALE_RELAYS, SCALE_STAGE_TIMEOUT: see scripts/bench_scale.sh.
bench-scale: build venv
	PYTHON=$(PYTHON) scripts/bench_scale.sh $(BIN) $(BENCH_DIR)

## The KAX17-size study end to end (29 generated months, 7000 relays): import, jobs, attribute,
## report, each timed (peak RSS too), into $(BENCH_DIR)/study.md and the "Study" section of
## $(BENCH_DIR)/results.md. STUDY_MONTHS, STUDY_RELAYS, ...: see scripts/bench_study.sh.
bench-study: build
	scripts/bench_study.sh $(BIN) $(BENCH_DIR)

## cargo fuzz over every parser and the archive layer, FUZZ_SECONDS each (nightly + cargo-fuzz:
## `cargo install cargo-fuzz`); execs and crashes in fuzz/results.md. Not part of `make test`.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

fmt:
	cargo fmt

lint:
	cargo fmt --check
	cargo clippy --release --all-targets -- -D warnings

## Every derived dataset and report (downloads in $(RAW), the demo archive and the kept report
## screenshots stay).
clean:
	rm -rf $(DEMO_WAREHOUSE) $(WAREHOUSE) data/real-sample $(BENCH_DIR)/work
	if [ -d data/reports ]; then find data/reports -type f ! -name screenshot.png -delete; find data/reports -type d -empty -delete; fi
