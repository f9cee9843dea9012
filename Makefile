# popgen-hub: the two commands of the README are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_PIN := torch==2.13.0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# What the tests drive for real: bcftools (BCF input), tabix, IGV desktop under Xvfb, headless
# Chromium (igv.js and JBrowse 2 pages), Node and npm (the JBrowse 2 plugin), and htslib's own
# malformed VCF/BAM test files (htslib-test: /usr/share/htslib-test/test/). system-deps installs
# the Debian packages of the missing ones only: Debian's npm cannot be installed beside the
# NodeSource Node.js that some machines have, and apt then installs nothing at all.
HTSLIB_TEST := /usr/share/htslib-test/test
EXAMPLE_VCF := hub/data/example_sweep.vcf.gz
MODEL := imagene_cnn.sweep_hsap_eur

.PHONY: demo test test-fast fuzz venv venv-train system-deps jbrowse-deps jbrowse-plugin pretrained temporal publish example-data screenshot screenshots bench lint \
	clean

## demo: install the inference package and scan the bundled example VCF with the bundled model
demo: venv
	$(BIN)/popgen-hub list
	$(BIN)/popgen-hub scan --vcf $(EXAMPLE_VCF) --model $(MODEL) -o demo_out

## test: install everything (training extra, system tools, the JBrowse 2 npm packages) and run
## the whole test suite
test: venv-train system-deps jbrowse-deps
	$(BIN)/python -m pytest -q -ra

## test-fast: the same, without the tests marked slow (over ~5 s each: training, big simulations)
test-fast: venv-train system-deps jbrowse-deps
	$(BIN)/python -m pytest -q -ra -m "not slow"

## fuzz: the property-based tests of tests/test_fuzz.py with 10x the generated inputs (~25 min)
fuzz: venv-train system-deps
	POPGEN_HUB_FUZZ=10 $(BIN)/python -m pytest -q -ra tests/test_fuzz.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.core: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.train: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q $(TORCH_PIN)
	$(BIN)/pip install -q -e '.[train,dev,serve]'
	touch $@ $(VENV)/.core

venv: $(VENV)/.core
venv-train: $(VENV)/.train

system-deps:
	@missing=; for pair in bcftools:bcftools tabix:tabix xvfb-run:xvfb xauth:xauth java:igv \
		chromium:chromium node:nodejs npm:npm; do \
		command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	[ -f /usr/share/java/igv.jar ] || missing="$$missing igv"; \
	[ -d $(HTSLIB_TEST) ] || missing="$$missing htslib-test"; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

JBROWSE := browsers/jbrowse
# The JBrowse 2 plugin's npm packages (package-lock.json): @jbrowse/core 4.x, esbuild,
# TypeScript, and the linear view's UMD build that tests/test_jbrowse.py runs.
$(JBROWSE)/node_modules/.package-lock.json: $(JBROWSE)/package.json $(JBROWSE)/package-lock.json
	cd $(JBROWSE) && npm ci --no-audit --no-fund --loglevel=error
jbrowse-deps: $(JBROWSE)/node_modules/.package-lock.json

## jbrowse-plugin: rebuild hub/browsers/static/jbrowse/popgen-hub-plugin.js (committed) from
## browsers/jbrowse/src
jbrowse-plugin: jbrowse-deps
	cd $(JBROWSE) && npm run --silent build

## pretrained: rebuild a bundled model from scratch (simulate, train, export; ~25 min for the
## default; MODEL=imagene_cnn.sweep_hsap ARGS=general for the regime model, ~1 h;
## MODEL=stats_fc.sweep_hsap ARGS=general for the statistics network;
## MODEL=stats_fc_genome.sweep_hsap ARGS=general for it beside the genome's background, ~1 h;
## MODEL=imagene_stats.sweep_hsap ARGS=general for the two side by side, ~1 h, measured and
## not bundled (into build/);
## MODEL=ensemble.sweep_hsap_general for the two general sweep models in one graph, ~1 h;
## MODEL=vae.embed_hsap;
## MODEL=relernn_gru.recomb_hsap for the recombination-rate network, ~80 min;
## MODEL=exchangeable_cnn.gan_homsap_ceu for the GAN's discriminator, ~10 min)
pretrained: venv-train
	PATH=$(CURDIR)/$(BIN):$$PATH bash exporters/$(MODEL).sh $(ARGS)

## temporal: the review's temporal task end to end: 10 repeats x 3 architectures on our simulator
## and on the review's data, Fig. 3 for each, the two temporal_balsel models (~1.5 h on 2 cores)
temporal: venv-train
	PATH=$(CURDIR)/$(BIN):$$PATH bash exporters/temporal_balsel.sh

## example-data: regenerate the bundled example VCF (2 Mb, 64 diploid samples, sweep at 1.2 Mb)
example-data: venv-train
	$(BIN)/popgen-hub simulate imagene_sweep --vcf $(EXAMPLE_VCF) --length 2000000 \
		--sweep-at 1200000 --end-frequency 0.9 --seed 3 --contig chr1

## screenshot: the README's IGV picture of the demo scan
screenshot: venv-train system-deps
	$(BIN)/popgen-hub scan --vcf $(EXAMPLE_VCF) --model $(MODEL) -q --snapshot -o demo_out
	cp demo_out/igv_snapshot.png docs/igv_demo.png

## screenshots: the README's browser pictures, as the browser tests render them (igv.js and
## JBrowse 2 in headless Chromium, IGV desktop under Xvfb) into docs/images
screenshots: venv-train system-deps jbrowse-deps
	POPGEN_HUB_SCREENSHOTS=docs/images $(BIN)/python -m pytest -q tests/test_report.py \
		tests/test_jbrowse.py tests/test_igv_live.py

## publish: push every bundled model to the Hugging Face Hub (needs HF_TOKEN; HF_ORG, DRY_RUN=dir)
publish: venv-train
	PATH=$(CURDIR)/$(BIN):$$PATH bash exporters/publish_all.sh

## bench: scan throughput against bcftools decoding (20 Mb, 500 samples; see benchmarks/scan.py)
## `make bench SMOKE=1`: every benchmark on tiny inputs, in seconds (as tests/test_benchmarks.py)
bench: venv-train system-deps
	$(BIN)/python benchmarks/scan.py $(if $(SMOKE),--smoke)
ifneq ($(SMOKE),)
	$(BIN)/python benchmarks/simulate.py --smoke
	$(BIN)/python benchmarks/temporal_diagnostics.py --smoke
endif

lint: venv-train
	$(BIN)/ruff check hub tests benchmarks exporters examples

clean:
	rm -rf demo_out build .pytest_cache
