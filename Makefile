# Everything installs itself: uv (from PyPI), Python dependencies, and the
# Kubernetes toolchain (built once per machine into ~/.cache/gitward).
UV := python3 -m uv
RUN := $(UV) run --frozen

.PHONY: all setup packages toolchain ui lint typecheck unit test demo demo-down clean

all: test

setup:
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet

# Debian packages the tests need (sshd for the ssh Git server); see the script's list.
packages:
	scripts/os-packages.sh

toolchain: setup
	$(RUN) gitward local toolchain --build

# The web UI (ui/), built into ui/dist, which `gitward server` serves at /; npm ci needs only the registry.
ui:
	cd ui && npm ci --no-audit --no-fund && npm run build

lint: setup
	$(RUN) ruff check src tests bench
	$(RUN) ruff format --check src tests bench
	$(RUN) lint-imports

typecheck: setup
	$(RUN) mypy

unit: setup
	$(RUN) pytest -m "not cluster"

test: packages toolchain ui lint typecheck
	$(RUN) pytest

demo: packages toolchain ui
	scripts/demo.sh

demo-down: setup
	$(RUN) gitward local down --name demo

clean:
	rm -rf .venv .mypy_cache .pytest_cache .ruff_cache
