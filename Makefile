# Everything installs itself: uv (from PyPI), Python dependencies, and the
# Kubernetes toolchain (built once per machine into ~/.cache/gitward).
UV := python3 -m uv
RUN := $(UV) run --frozen

.PHONY: all setup toolchain lint typecheck unit test demo demo-down clean

all: test

setup:
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet

toolchain: setup
	$(RUN) gitward local toolchain --build

lint: setup
	$(RUN) ruff check src tests bench
	$(RUN) ruff format --check src tests bench
	$(RUN) lint-imports

typecheck: setup
	$(RUN) mypy

unit: setup
	$(RUN) pytest tests/unit

test: toolchain lint typecheck
	$(RUN) pytest

demo: toolchain
	scripts/demo.sh

demo-down: setup
	$(RUN) gitward local down --name demo

clean:
	rm -rf .venv .mypy_cache .pytest_cache .ruff_cache
