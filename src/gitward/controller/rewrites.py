"""A force-push that drops the deployed commit holds automated sync until a person syncs.

A branch that moves to a commit which does not contain the one deployed has
had its history rewritten: most often an old branch pushed with --force by
mistake, which automation would otherwise roll the cluster back to (and
prune whatever the lost commits added). So, as the issue asks of a
force-push, the last good state stays, the app reports OutOfSync against the
new head, and a SyncError condition says what happened; a requested sync
accepts the new history, after which automation follows it again.

Judged from the app's own records (the revision it was last Synced with, or
its newest history entry, under today's spec), so a restarted controller
holds just the same. A spec that changed since (another branch, a pinned
commit, a rollback) is a person's choice, and a commit SHA named in the spec
never "moves": neither is held.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gitward.controller.operation_request import last_synced_revision, spec_sources
from gitward.engine.desired import Revisioned
from gitward.model.application import Application
from gitward.model.status import ConditionType, SyncStatusCode
from gitward.source import RepoCache, redact_url

_COMMIT = re.compile(r"^[0-9a-fA-F]{7,40}$")


async def history_rewritten(
    repos: RepoCache, obj: Mapping[str, Any], app: Application, rendered: Revisioned
) -> dict[str, str] | None:
    """The SyncError condition holding automation back, or None when the new revision follows on."""
    baseline = _baseline(obj)
    if not baseline:
        return None
    deployed = baseline.split(",")
    pairs = [(s, r) for s, r in zip(app.spec.all_sources, rendered.revisions, strict=True) if r]
    if len(deployed) != len(pairs):
        return None
    for (source, new), old in zip(pairs, deployed, strict=True):
        revision = source.target_revision or "HEAD"
        if source.chart or old == new or (_COMMIT.match(revision) and new.startswith(revision.lower())):
            continue
        if not await repos.mirror(source.repo_url).is_ancestor(old, new):
            return {
                "type": str(ConditionType.sync_error),
                "message": (
                    f"{revision} of {redact_url(source.repo_url)} was rewritten (a force-push?): the deployed"
                    f" commit {old[:12]} is not in the history of {new[:12]}; automated sync waits, the last"
                    f" synced state stays. Run `gitward app sync {app.name}` to deploy the new history."
                ),
            }
    return None


def _baseline(obj: Mapping[str, Any]) -> str | None:
    """What the cluster last matched under the current spec: the revision it was last compared
    Synced with (a rewrite whose content is unchanged, such as an amended message, is no change),
    else the newest deployed one."""
    status = obj.get("status") or {}
    sync = status.get("sync") or {}
    wanted = spec_sources(obj)
    compared = spec_sources({"spec": sync.get("comparedTo") or {}})
    if sync.get("status") == SyncStatusCode.synced and sync.get("revision") and compared == wanted:
        return str(sync["revision"])
    history = status.get("history") or []
    if history and spec_sources({"spec": history[-1]}) == wanted:
        return last_synced_revision(obj)
    return None
