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

.PHONY: help deps apt venv collection sanity lint unit integration molecule test demo bench ee-context lab-up lab-down clean

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

lint: venv collection sanity
	$(BIN)/ruff check .
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production --offline
	$(BIN)/python tests/lint/powershell_lint.py

# ansible-test sanity needs the collection under a path ending in ansible_collections/zoomrooms/remediation and
# outside any git checkout that ignores it: it runs on a temporary copy of the files git would commit.
# Its per-test virtualenvs get pip from tests/sanity/get_pip.py (PyPI) instead of ci-files.testing.ansible.com,
# and live in .ansible/sanity-home so the user's ~/.ansible is left alone.
SANITY_HOME := $(abspath .ansible/sanity-home)
SANITY_OPTIONS ?=
sanity: venv
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	dest="$$tmp/ansible_collections/zoomrooms/remediation"; mkdir -p "$$dest" $(SANITY_HOME)/.ansible/test/cache; \
	cp tests/sanity/get_pip.py $(SANITY_HOME)/.ansible/test/cache/get_pip_24_2.py; \
	git ls-files -z --cached --others --exclude-standard | \
	  while IFS= read -r -d '' f; do [ -e "$$f" ] && printf '%s\0' "$$f"; done | xargs -0 cp -P --parents -t "$$dest"; \
	cd "$$dest" && HOME=$(SANITY_HOME) $(abspath $(BIN))/ansible-test sanity --python 3.11 $(SANITY_OPTIONS)

unit: venv collection
	$(BIN)/pytest -q -n 2 tests/unit

integration: deps
	$(BIN)/pytest -q tests/integration

molecule: deps
	tests/lab/run-molecule

test: deps lint unit integration molecule

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
