"""`gitward app …`: Applications for people, shaped like `argocd app …`.

The commands talk to the Kubernetes API with your kubeconfig (`--kubeconfig`,
`--context`); Applications live in the controller's namespace
(`--app-namespace`/`-N`, `$GITWARD_APP_NAMESPACE`, default `gitward`);
`--api-group argoproj.io` works on Argo CD's Applications (compatibility mode).

Exit codes: 0 done; 1 the sync or rollback failed, the app is Degraded, a
wait timed out, or the cluster could not be reached; 2 bad input (an unknown
app, a bad flag, a malformed file), in which case nothing was written.
`app diff` exits 1 when there are differences, as `argocd app diff` does.
`app manifests` never prints a Secret's values: they are masked.
"""

from __future__ import annotations

import typer

from gitward.cli.app.create import create
from gitward.cli.app.diff import diff
from gitward.cli.app.manifests import manifests
from gitward.cli.app.progress import wait
from gitward.cli.app.read import get, history, list_apps
from gitward.cli.app.write import delete, rollback, sync

app = typer.Typer(
    help="Create, inspect, sync, roll back and delete Applications (exit: 0 ok, 1 failed, 2 bad input).",
    no_args_is_help=True,
)
app.command("create")(create)
app.command("list")(list_apps)
app.command("get")(get)
app.command("sync")(sync)
app.command("diff")(diff)
app.command("manifests")(manifests)
app.command("history")(history)
app.command("rollback")(rollback)
app.command("delete")(delete)
app.command("wait")(wait)
