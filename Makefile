# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-openclaw test-cgroup2 test-console lint bench proto clean

$(STAMP): pyproject.toml scripts/bootstrap.sh
	sh scripts/bootstrap.sh "$(PYTHON)" "$(VENV)"
	touch $@

run: $(STAMP)
	@echo "skillrt: starting the daemon on the bundled catalog; in another terminal try:"
	@echo "  export PATH=\"$(CURDIR)/$(BIN):\$$PATH\""
	@echo "  export SKILLRT_TOKEN=...   # the owner token printed below (first start only)"
	@echo "  skillrt skills"
	@echo "  skillrt invoke text-stats analyze --input '{\"text\": \"Hello, sandbox.\"}'"
	$(BIN)/skillrt serve $(ARGS)

# The web console's tests run in their own lane (make test-console).
test: $(STAMP) lint
	$(BIN)/pytest -q --ignore=tests/console

# The OpenClaw plugin in the real OpenClaw gateway (installs Node 24 and OpenClaw into .cache/).
test-openclaw: $(STAMP)
	sh scripts/test-openclaw.sh "$(VENV)"

# The sandbox tests on a real cgroup v2 kernel, booted under qemu (installs qemu and busybox with
# apt when missing; the kernel and the guest's initramfs go into .cache/cgroup2).
test-cgroup2: $(STAMP)
	sh scripts/test-cgroup2.sh "$(VENV)"

# The web console: its HTTP tests against a real daemon, and the same in a real headless browser
# (Debian's chromium, installed with apt when missing, driven by playwright); screenshots of each
# page go into .cache/console-screenshots.
test-console: $(STAMP)
	sh scripts/test-console.sh "$(VENV)"

lint: $(STAMP)
	$(BIN)/ruff check runtime tests scripts skills_catalog
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

proto: $(STAMP)
	$(BIN)/python scripts/gen_proto.py
