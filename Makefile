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

.PHONY: install test test-deps up preview render render-diff bench mutation lint clean quickstart-redis quickstart-stop

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras
	touch $@

# Flower (apps/federated) gets its own environment: flwr 1.42 pins packaging<26 and older fastapi/starlette/uvicorn,
# which pulumi>=3.272 and the dev tools cannot share (apps/federated/app/pyproject.toml, its own uv.lock).
FEDERATED_ENV := $(CURDIR)/.venv-federated
$(FEDERATED_ENV)/.synced: $(UV) apps/federated/app/pyproject.toml apps/federated/app/uv.lock
	UV_PROJECT_ENVIRONMENT=$(FEDERATED_ENV) $(UV) sync --frozen --project apps/federated/app
	touch $@

install: .venv/.synced $(FEDERATED_ENV)/.synced

test: install
	.venv/bin/python -m pytest -q -n 2  # both cores: the suite is CPU-bound (stack evaluations, model fits)

# Installs what the integration tests need (as root on Debian/Ubuntu; CI calls it).
test-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_DEBS)

render: install
	.venv/bin/python -m harness.render --out build/render $(if $(filter-out all,$(STACK)),--stack $(STACK))

# Checked before anything is installed: the Pulumi CLI first (nothing works without it), then the passphrase.
define require_pulumi
	@command -v pulumi >/dev/null || { \
	  echo "make $@: the Pulumi CLI is not installed (https://www.pulumi.com/docs/install/)." >&2; \
	  echo "  'make render STACK=$(STACK)' shows what the stack would create without it and without a cluster." >&2; \
	  exit 2; }
	@if [ -z "$$PULUMI_CONFIG_PASSPHRASE" ] && [ -z "$$PULUMI_CONFIG_PASSPHRASE_FILE" ]; then \
	  echo "make $@: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts this stack's secrets." >&2; \
	  echo "  'make render STACK=$(STACK)' shows what the stack would create without it and without a cluster." >&2; \
	  exit 2; fi
	@$(MAKE) --no-print-directory install
	mkdir -p .pulumi-state
	pulumi stack select $(STACK) --create --secrets-provider passphrase
endef

preview:
	$(require_pulumi)
	pulumi preview --stack $(STACK) --diff --policy-pack policy

up:
	$(require_pulumi)
	pulumi up --stack $(STACK) --policy-pack policy

# What a change does to every cluster, against a base revision: BASE=origin/main make render-diff
BASE ?= HEAD
render-diff: install
	rm -rf build/render-base-src && git worktree add --detach build/render-base-src $(BASE)
	cd build/render-base-src && $(CURDIR)/.venv/bin/python -m harness.render --out $(CURDIR)/build/render-base
	git worktree remove --force build/render-base-src
	.venv/bin/python -m harness.render --out build/render
	.venv/bin/python -m harness.render_diff build/render-base build/render

# The README's quick start: its own Redis (a port a packaged Redis does not use, data under build/), checked
# to be the one answering, so a Redis already on the port cannot stand in for it unnoticed.
QUICKSTART_REDIS_PORT ?= 6390
QUICKSTART_REDIS_DIR ?= $(CURDIR)/build/quickstart-redis
quickstart-redis:
	@command -v redis-server >/dev/null && command -v redis-cli >/dev/null || { \
	  echo "make $@: redis-server and redis-cli are not installed: apt-get install -y redis-server redis-tools" >&2; exit 2; }
	@[ -n "$$REDIS_PASSWORD" ] || { \
	  echo "make $@: set REDIS_PASSWORD first: export REDIS_PASSWORD=\$$(openssl rand -hex 16)" >&2; exit 2; }
	@mkdir -p "$(QUICKSTART_REDIS_DIR)"
	@# the password goes into a private config file, not the command line (ps would show it)
	@(umask 077; printf 'port %s\nbind 127.0.0.1\ndir %s\nrequirepass "%s"\ndaemonize yes\npidfile %s/redis.pid\nlogfile %s/redis.log\nsave ""\nappendonly no\n' \
	  "$(QUICKSTART_REDIS_PORT)" "$(QUICKSTART_REDIS_DIR)" "$$REDIS_PASSWORD" "$(QUICKSTART_REDIS_DIR)" "$(QUICKSTART_REDIS_DIR)" \
	  > "$(QUICKSTART_REDIS_DIR)/redis.conf")
	@redis-server "$(QUICKSTART_REDIS_DIR)/redis.conf"
	@for attempt in $$(seq 50); do \
	  answer=$$(REDISCLI_AUTH="$$REDIS_PASSWORD" redis-cli --no-auth-warning -p $(QUICKSTART_REDIS_PORT) config get dir 2>&1 | tail -n 1); \
	  if [ "$$answer" = "$(QUICKSTART_REDIS_DIR)" ]; then \
	    echo "Redis answers on redis://127.0.0.1:$(QUICKSTART_REDIS_PORT) (data and log in $(QUICKSTART_REDIS_DIR))"; exit 0; fi; \
	  sleep 0.1; done; \
	echo "make $@: the quick start's Redis did not start on port $(QUICKSTART_REDIS_PORT): the last answer was '$$answer'." >&2; \
	echo "  See $(QUICKSTART_REDIS_DIR)/redis.log; if another Redis holds the port, choose another: make $@ QUICKSTART_REDIS_PORT=6391" >&2; \
	exit 1

quickstart-stop:
	@if [ -f "$(QUICKSTART_REDIS_DIR)/redis.pid" ]; then kill "$$(cat "$(QUICKSTART_REDIS_DIR)/redis.pid")" && \
	  rm -f "$(QUICKSTART_REDIS_DIR)/redis.pid" && echo "stopped the quick start's Redis"; \
	else echo "the quick start's Redis is not running ($(QUICKSTART_REDIS_DIR)/redis.pid is absent)"; fi

# Benchmarks print figures; they are not tests.
bench: install
	.venv/bin/python -m tests.benchmarks.bench_scale

# Test strength: mutmut over the critical modules, each against its own tests (tests/mutation/targets.py);
# prints survivors per module and the score. Not part of `make test`. One target: make mutation TARGETS=rancher
mutation: install
	.venv/bin/python -m tests.mutation.run $(TARGETS)

# actionlint passes silently when it cannot run shellcheck, so lint refuses to run without it.
lint: install
	@command -v shellcheck >/dev/null || { echo "shellcheck is not installed (Debian package shellcheck)" >&2; exit 2; }
	.venv/bin/ruff check infra harness apps injector policy tests
	.venv/bin/actionlint -shellcheck="$$(command -v shellcheck)"
	shellcheck .ci/run

clean:
	rm -rf build .pytest_cache
