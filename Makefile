# The two commands: `make up STACK=dev` deploys a stack, `make test` runs the tests.
# Everything else here supports them.
STACK ?= dev
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := $(CURDIR)/.tools
UV := $(TOOLS)/bin/uv
# The Pulumi CLI runs `uv` itself (Pulumi.yaml: toolchain uv), so it must be on PATH.
export PATH := $(TOOLS)/bin:$(PATH)
# A local file state backend: no account needed. Point PULUMI_BACKEND_URL elsewhere to share state.
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state
# Debian packages the integration tests run for real (servers and linters).
TEST_DEBS := redis-server prometheus prometheus-alertmanager shellcheck openssl

.PHONY: install test test-deps up preview render render-diff bench lint clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras
	touch $@

install: .venv/.synced

test: install
	.venv/bin/python -m pytest -q

# Installs what the integration tests need (as root on Debian/Ubuntu; CI calls it).
test-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_DEBS)

render: install
	.venv/bin/python -m harness.render --out build/render $(if $(filter-out all,$(STACK)),--stack $(STACK))

define require_passphrase
	@if [ -z "$$PULUMI_CONFIG_PASSPHRASE" ] && [ -z "$$PULUMI_CONFIG_PASSPHRASE_FILE" ]; then \
	  echo "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts this stack's secrets" >&2; \
	  exit 2; fi
	@command -v pulumi >/dev/null || { echo "the Pulumi CLI is not installed: https://www.pulumi.com/docs/install/" >&2; exit 2; }
	mkdir -p .pulumi-state
	pulumi stack select $(STACK) --create --secrets-provider passphrase
endef

preview: install
	$(require_passphrase)
	pulumi preview --stack $(STACK) --diff --policy-pack policy

up: install
	$(require_passphrase)
	pulumi up --stack $(STACK) --policy-pack policy

# What a change does to every cluster, against a base revision: BASE=origin/main make render-diff
BASE ?= HEAD
render-diff: install
	rm -rf build/render-base-src && git worktree add --detach build/render-base-src $(BASE)
	cd build/render-base-src && $(CURDIR)/.venv/bin/python -m harness.render --out $(CURDIR)/build/render-base
	git worktree remove --force build/render-base-src
	.venv/bin/python -m harness.render --out build/render
	.venv/bin/python -m harness.render_diff build/render-base build/render

# Benchmarks print figures; they are not tests.
bench: install
	.venv/bin/python -m tests.benchmarks.bench_scale

# actionlint passes silently when it cannot run shellcheck, so lint refuses to run without it.
lint: install
	@command -v shellcheck >/dev/null || { echo "shellcheck is not installed (Debian package shellcheck)" >&2; exit 2; }
	.venv/bin/ruff check infra harness apps injector policy tests
	.venv/bin/actionlint -shellcheck="$$(command -v shellcheck)"
	shellcheck .ci/run

clean:
	rm -rf build .pytest_cache
