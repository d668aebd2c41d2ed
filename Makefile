# Two commands for a newcomer: `make demo` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export ANSIBLE_CONFIG := $(abspath ansible.cfg)
export CONTAINERS_CONF := $(abspath tests/lab/containers.conf)
APT_PACKAGES := podman runc debootstrap openssh-client nftables iptables iproute2 dpkg-dev chromium
ROOMS ?= 50 100
# The checkout is the collection zoomrooms.remediation; ansible.cfg's collections_path lists .ansible/collections.
COLLECTION_LINK := .ansible/collections/ansible_collections/zoomrooms/remediation

.PHONY: help deps apt venv collection sanity lint unit integration molecule lab-image test test-phases demo bench ee-context \
	lab-up lab-down clean

help:
	@echo "make demo   - bring up the lab with faults, diagnose, remediate, print the summary"
	@echo "make test   - lint, unit, integration (lab) and molecule tests"
	@echo "make bench  - fleet benchmark (ROOMS=\"$(ROOMS)\")"

deps: apt venv collection

# A relative link, so the checkout can move; tests/conftest.py makes the same link for a bare pytest.
$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

collection: $(COLLECTION_LINK)

# Debian packages the lab and the browser test need; installs only what is missing.
apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "apt: installing$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; fi

$(BIN)/activate: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $(BIN)/activate

venv: $(BIN)/activate

# `make test` sets NICE (below) so that integration gets the CPU first; empty for a phase run alone.
NICE ?=

lint: venv collection sanity
	@echo "== lint: started $$(date -u +%T)"
	$(NICE) $(BIN)/ruff check .
	$(NICE) $(BIN)/yamllint -s .
	$(NICE) $(BIN)/ansible-lint --profile production --offline
	$(NICE) $(BIN)/python tests/lint/powershell_lint.py
	@echo "== lint: finished $$(date -u +%T)"

# ansible-test sanity needs the collection under a path ending in ansible_collections/zoomrooms/remediation and
# outside any git checkout that ignores it: it runs on a temporary copy of the files git would commit.
# Its per-test virtualenvs get pip from tests/sanity/get_pip.py (PyPI) instead of ci-files.testing.ansible.com.
# They live in a cache outside the checkout (SANITY_HOME; the user's ~/.ansible is left alone): ansible-test
# names each after a hash of its requirements and reuses it, so a fresh clone on the same machine does not
# rebuild them (about 100 s of CPU, a third of the phase). flock: two sanity runs do not build one venv at once.
SANITY_HOME ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/zoomrooms-remediation/sanity-home
SANITY_OPTIONS ?=
sanity: venv
	@echo "== sanity: started $$(date -u +%T)"
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	dest="$$tmp/ansible_collections/zoomrooms/remediation"; mkdir -p "$$dest" $(SANITY_HOME)/.ansible/test/cache; \
	cp tests/sanity/get_pip.py $(SANITY_HOME)/.ansible/test/cache/get_pip_24_2.py; \
	git ls-files -z --cached --others --exclude-standard | \
	  while IFS= read -r -d '' f; do [ -e "$$f" ] && printf '%s\0' "$$f"; done | xargs -0 cp -P --parents -t "$$dest"; \
	cd "$$dest" && HOME=$(SANITY_HOME) $(NICE) flock $(SANITY_HOME)/.lock \
	  $(abspath $(BIN))/ansible-test sanity --python 3.11 $(SANITY_OPTIONS)
	@echo "== sanity: finished $$(date -u +%T)"

unit: venv collection
	@echo "== unit: started $$(date -u +%T)"
	$(NICE) $(BIN)/pytest -q -n 2 tests/unit
	@echo "== unit: finished $$(date -u +%T)"

# One lab per pytest-xdist worker (zrt0, zrt1, ...: tests/integration/conftest.py), whole test files per
# worker (--dist loadfile), the slowest files first (conftest's order; --no-loadscope-reorder keeps it).
# INTEGRATION_WORKERS=0 runs serially on one lab named zrt, the way to debug one test (docs/lab.md).
# Each worker's session fixture tears its lab down; the loop after pytest removes what a crashed worker left.
INTEGRATION_WORKERS ?= 3
INTEGRATION_TESTS ?= tests/integration
INTEGRATION_ARGS ?=
integration: deps lab-image
	@echo "== integration: started $$(date -u +%T)"
	@status=0; $(BIN)/pytest -q -n $(INTEGRATION_WORKERS) --dist loadfile --no-loadscope-reorder \
	  $(INTEGRATION_ARGS) $(INTEGRATION_TESTS) || status=$$?; \
	for i in $$(seq 0 $$(( $(INTEGRATION_WORKERS) - 1 ))); do \
	  ZR_LAB_NAME=$${ZR_TEST_LAB_NAME:-zrt}$$i ZR_LAB_DIR=/nonexistent/zr-lab-state tests/lab/labctl down || status=1; done; \
	echo "== integration: finished $$(date -u +%T)"; exit $$status

molecule: deps lab-image
	@echo "== molecule: started $$(date -u +%T)"
	$(NICE) tests/lab/run-molecule
	@echo "== molecule: finished $$(date -u +%T)"

# The lab image, once, before integration and molecule start their labs side by side.
lab-image: deps
	tests/lab/labctl build

# The phases that do not depend on each other run side by side (docs/lab.md): lint (ansible-test sanity
# first), unit, and integration and molecule once the lab image is built. Integration is the longest, so
# the others run under `nice -n $(TEST_NICE)`. --output-sync prints each phase's lines together when it
# ends; --keep-going lets every phase report, whichever fails. TEST_JOBS=1 runs them one after the other.
TEST_JOBS ?= 6
TEST_NICE ?= 10
test: deps
	@echo "== test: started $$(date -u +%T)"
	$(MAKE) --no-print-directory -j$(TEST_JOBS) --keep-going --output-sync=target test-phases \
	  NICE="nice -n $(TEST_NICE)"
	@echo "== test: finished $$(date -u +%T)"

test-phases: lint unit integration molecule

demo: deps
	tests/lab/demo

# The execution environment's build context (docs/awx.md): the collection tarball, then
# `ansible-builder create` (no network; building the image from build/ee/context needs registries).
ee-context: venv
	rm -rf build/ee
	$(BIN)/ansible-galaxy collection build --force --output-path build/ee
	$(BIN)/ansible-builder create -f execution-environment.yml -c build/ee/context

bench: deps
	$(BIN)/python bench/run.py --rooms $(ROOMS)

lab-up: deps
	tests/lab/labctl up

lab-down:
	tests/lab/labctl down

clean: lab-down
	rm -rf $(VENV) reports evidence .lab build
