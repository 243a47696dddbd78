#!/usr/bin/env bash
# `make demo`: the GitOps loop on this machine, from nothing.
#   a local cluster, a local Git repository holding the guestbook app (served
#   by `git daemon`: gitward refuses file:// and local paths by default), the
#   gitward controller, an Application; then a commit rolled out and a hand
#   edit healed. Everything keeps running until Ctrl-C (or DEMO_EXIT=1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
gitward() { python3 -m uv run --frozen gitward "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_for() {  # wait_for DESCRIPTION COMMAND...: poll up to 90 s
  local what=$1; shift
  for _ in $(seq 1 180); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "timed out waiting for $what; the controller's log: $LOG" >&2
  exit 1
}

STATE=${GITWARD_CACHE:-$HOME/.cache/gitward}/demo
GITROOT=$STATE/git
REPO=$GITROOT/guestbook
LOG=$STATE/controller.log
mkdir -p "$STATE"

say "1. A local Kubernetes cluster"
gitward local up --name demo --nodes 2
k() { gitward local kubectl --name demo "$@"; }

say "2. A local Git repository with the guestbook app, served by git daemon"
rm -rf "$REPO"
mkdir -p "$REPO/guestbook"
cp examples/guestbook/guestbook.yaml "$REPO/guestbook/"
git -C "$REPO" init --quiet --initial-branch=main
git -C "$REPO" config uploadpack.allowFilter true
g() { git -C "$REPO" -c user.name=demo -c user.email=demo@example.com "$@"; }
g add --all && g commit --quiet -m "guestbook, 2 replicas"
# A git:// server rather than file://$REPO: the controller then runs as it should in
# production, with only remote transports allowed (GITWARD_ALLOW_LOCAL_REPOS is not set).
GIT_PORT=${DEMO_GIT_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
git daemon --reuseaddr --export-all --base-path="$GITROOT" --listen=127.0.0.1 --port="$GIT_PORT" \
  "$GITROOT" >"$STATE/git-daemon.log" 2>&1 &
GITD=$!
trap 'kill $GITD 2>/dev/null || true' EXIT
REPO_URL=git://127.0.0.1:$GIT_PORT/guestbook
git_served() { git ls-remote -- "$REPO_URL" HEAD; }
wait_for "git daemon on port $GIT_PORT (its log: $STATE/git-daemon.log)" git_served
echo "serving $REPO as $REPO_URL"

say "3. gitward: CRDs in the cluster, the controller beside it (kwok nodes cannot run its image)"
gitward install --crds-only --apply --kubeconfig "$STATE/../clusters/demo/kubeconfig" >/dev/null
k create namespace gitward --dry-run=client -o yaml | k apply -f - >/dev/null
k create namespace guestbook --dry-run=client -o yaml | k apply -f - >/dev/null
pkill -f "gitward controller --namespace gitward --kubeconfig $STATE/../clusters/demo/kubeconfig" 2>/dev/null || true
# A second `make demo` on the same cluster starts a new Git history: the previous run's
# Application would (rightly) refuse to follow a rewritten branch, so it starts afresh too.
k delete applications.gitward.dev guestbook -n gitward --ignore-not-found >/dev/null
python3 -m uv run --frozen gitward controller --namespace gitward \
  --kubeconfig "$STATE/../clusters/demo/kubeconfig" --poll 5 >"$LOG" 2>&1 &
CONTROLLER=$!
trap 'kill $CONTROLLER $GITD 2>/dev/null || true' EXIT
echo "controller pid $CONTROLLER, log: $LOG"

say "4. The Application: Git is the source of truth"
k apply -f - <<YAML
apiVersion: gitward.dev/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: gitward
spec:
  project: default
  source:
    repoURL: $REPO_URL
    path: guestbook
    targetRevision: main
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  syncPolicy:
    automated: {prune: true, selfHeal: true}
YAML

app_is() { [ "$(k get applications.gitward.dev guestbook -n gitward -o jsonpath='{.status.sync.status}/{.status.health.status}')" = "$1" ]; }
replicas_are() { [ "$(k get deployment guestbook -n guestbook -o jsonpath='{.spec.replicas}')" = "$1" ]; }

wait_for "Synced and Healthy" app_is Synced/Healthy
k get applications.gitward.dev -n gitward
k get deployments,pods -n guestbook

say "5. A commit is rolled out: replicas 2 -> 3"
sed -i 's/replicas: 2/replicas: 3/' "$REPO/guestbook/guestbook.yaml"
g commit --quiet -am "guestbook, 3 replicas"
wait_for "the commit to reach the cluster" replicas_are 3
wait_for "Synced and Healthy" app_is Synced/Healthy
k get deployments -n guestbook

say "6. A hand edit is healed: kubectl scale --replicas=9"
k scale deployment guestbook -n guestbook --replicas=9
wait_for "self-heal" replicas_are 3
k get deployments -n guestbook
k get applications.gitward.dev guestbook -n gitward -o jsonpath='{range .status.history[*]}{.id}{"  "}{.revision}{"  "}{.deployedAt}{"\n"}{end}'

say "7. The API server and the web UI"
KUBECONFIG_DEMO="$STATE/../clusters/demo/kubeconfig"
# A fresh name each run: `make demo` again on the same cluster must not trip over the last token.
TOKEN=$(gitward token create "demo-$(date +%s)" --role admin --namespace gitward --kubeconfig "$KUBECONFIG_DEMO")
python3 -m uv run --frozen gitward server --namespace gitward --kubeconfig "$KUBECONFIG_DEMO" \
  --port "${DEMO_PORT:-8081}" >"$STATE/server.log" 2>&1 &
SERVER=$!
trap 'kill $CONTROLLER $SERVER $GITD 2>/dev/null || true' EXIT
wait_for "the API server" curl -sf "http://127.0.0.1:${DEMO_PORT:-8081}/readyz"
echo "open http://127.0.0.1:${DEMO_PORT:-8081}/ and sign in with this admin token: $TOKEN"

cat <<TXT

Everything is running. Try:
  edit $REPO/guestbook/guestbook.yaml, then: git -C $REPO commit -am "my change"
  uv run gitward local kubectl --name demo get applications.gitward.dev -n gitward
  uv run gitward local kubectl --name demo scale deployment guestbook -n guestbook --replicas=1
  tail -f $LOG
Ctrl-C stops the controller and the server; 'make demo-down' removes the cluster.
TXT
if [ "${DEMO_EXIT:-0}" = 1 ]; then exit 0; fi
wait "$CONTROLLER"
