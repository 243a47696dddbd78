#!/usr/bin/env bash
# `make demo`: a local cluster with the example app deployed.
# (Issue 5 turns this into the full GitOps loop: a local Git repo and the gitward controller.)
set -euo pipefail
cd "$(dirname "$0")/.."
gitward() { python3 -m uv run --frozen gitward "$@"; }

gitward local up --name demo --nodes 2
gitward local kubectl --name demo apply -f examples/guestbook/
gitward local kubectl --name demo rollout status deployment/guestbook --timeout=60s
gitward local kubectl --name demo get nodes,deployments,pods,services -o wide
cat <<TXT

The demo cluster is running. Try:
  uv run gitward local kubectl --name demo get pods
  uv run gitward local status
or point your own tools at it:
  $(gitward local up --name demo 2>/dev/null)
Stop it with: make demo-down
TXT
