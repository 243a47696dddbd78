"""Sync windows: which windows select an app, when one is open, and what they let through."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.engine.project_policy import ProjectError, matching_windows, sync_verdict, window_open
from gitward.model.application import Application
from gitward.model.project import AppProject, SyncWindow

UTC = dt.UTC


def window(kind: str = "deny", schedule: str = "0 22 * * *", duration: str = "8h", **more: Any) -> SyncWindow:
    selector = {} if {"applications", "namespaces", "clusters"} & more.keys() else {"applications": ["*"]}
    spec = {"syncWindows": [{"kind": kind, "schedule": schedule, "duration": duration, **selector, **more}]}
    found = AppProject.from_dict({"apiVersion": "gitward.dev/v1alpha1", "kind": "AppProject", "spec": spec})
    return found.spec.sync_windows[0]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "open_"),
    [
        ("2026-05-04T21:59:59", False),
        ("2026-05-04T22:00:00", True),  # the start is inside
        ("2026-05-05T05:59:59", True),
        ("2026-05-05T06:00:00", False),  # the end is not
    ],
)
def test_a_window_is_open_from_its_start_for_its_duration(when: str, open_: bool) -> None:
    assert window_open(window(), at(when)) is open_


def test_a_time_zone_moves_the_window_and_follows_daylight_saving() -> None:
    paris = window(schedule="0 9 * * *", duration="1h", timeZone="Europe/Paris")
    # 09:00 in Paris is 07:00 UTC in summer and 08:00 UTC in winter.
    assert window_open(paris, at("2026-07-01T07:30:00"))
    assert not window_open(paris, at("2026-07-01T08:30:00"))
    assert window_open(paris, at("2026-01-15T08:30:00"))
    assert not window_open(paris, at("2026-01-15T07:30:00"))


def test_descriptors_read_as_go_cron_reads_them() -> None:
    assert window_open(window(schedule="@daily", duration="1h"), at("2026-05-04T00:30:00"))
    assert not window_open(window(schedule="@daily", duration="1h"), at("2026-05-04T01:30:00"))


def test_an_unreadable_schedule_or_zone_is_an_error_not_an_open_window() -> None:
    with pytest.raises(ProjectError, match="61 \\* \\* \\* \\*"):
        window_open(window(schedule="61 * * * *"), at("2026-05-04T00:00:00"))
    with pytest.raises(ProjectError, match="unknown timeZone 'Mars/Olympus'"):
        window_open(window(timeZone="Mars/Olympus"), at("2026-05-04T00:00:00"))


@given(
    st.integers(0, 59),
    st.integers(0, 23),
    st.integers(1, 36 * 60),
    st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)),
)
def test_open_exactly_when_some_daily_start_lies_within_the_duration_before(
    minute: int, hour: int, length: int, naive: dt.datetime
) -> None:
    now = naive.replace(tzinfo=UTC)
    daily = window(schedule=f"{minute} {hour} * * *", duration=f"{length}m")
    starts = [
        dt.datetime.combine(now.date() - dt.timedelta(days=back), dt.time(hour, minute), UTC)
        for back in range(3)
    ]
    expected = any(s <= now < s + dt.timedelta(minutes=length) for s in starts)
    assert window_open(daily, now) is expected


def app(name: str = "shop", namespace: str = "shop") -> Application:
    return Application.from_dict(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": "gitward"},
            "spec": {
                "source": {"repoURL": "https://git.example/shop", "path": "deploy"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            },
        }
    )


def test_windows_select_apps_by_name_namespace_or_cluster() -> None:
    windows = [
        {"kind": "deny", "schedule": "* * * * *", "duration": "1h", "applications": ["shop*"]},
        {"kind": "deny", "schedule": "* * * * *", "duration": "1h", "namespaces": ["prod-*"]},
        {"kind": "deny", "schedule": "* * * * *", "duration": "1h", "clusters": ["in-cluster"]},
        {"kind": "deny", "schedule": "* * * * *", "duration": "1h", "clusters": ["https://prod.example"]},
    ]
    found = AppProject.from_dict(
        {"apiVersion": "gitward.dev/v1alpha1", "kind": "AppProject", "spec": {"syncWindows": windows}}
    )
    chosen = matching_windows(found, app("web", "prod-eu"))
    assert [w.namespaces or w.clusters for w in chosen] == [("prod-*",), ("in-cluster",)]
    assert len(matching_windows(found, app("shop-2", "dev"))) == 2


NOON = at("2026-05-04T12:00:00")
OPEN_DENY = window("deny", "0 11 * * *", "2h")
CLOSED_DENY = window("deny", "0 20 * * *", "1h")
OPEN_ALLOW = window("allow", "0 11 * * *", "2h")
CLOSED_ALLOW = window("allow", "0 20 * * *", "1h")


@pytest.mark.parametrize(
    ("windows", "manual", "allowed"),
    [
        ([], False, True),
        ([CLOSED_DENY], False, True),
        ([OPEN_DENY], False, False),
        ([OPEN_DENY], True, False),
        ([window("deny", "0 11 * * *", "2h", manualSync=True)], True, True),
        ([window("deny", "0 11 * * *", "2h", manualSync=True)], False, False),
        # One open deny without manualSync is enough to refuse a manual sync.
        ([window("deny", "0 11 * * *", "2h", manualSync=True), OPEN_DENY], True, False),
        # Allow windows: syncs only while one is open.
        ([CLOSED_ALLOW], False, False),
        ([CLOSED_ALLOW, OPEN_ALLOW], False, True),
        ([window("allow", "0 20 * * *", "1h", manualSync=True)], True, True),
        # A deny beats an open allow.
        ([OPEN_ALLOW, OPEN_DENY], False, False),
    ],
)
def test_what_the_windows_let_through(windows: list[SyncWindow], manual: bool, allowed: bool) -> None:
    assert sync_verdict(windows, NOON, manual=manual).allowed is allowed


def test_a_refusal_says_why_and_when_to_look_again() -> None:
    verdict = sync_verdict([OPEN_DENY], NOON, manual=False)
    assert not verdict.allowed
    assert verdict.message == "sync blocked by sync window (a deny window is open: deny '0 11 * * *' for 2h)"
    assert verdict.next_change == at("2026-05-04T13:00:00")
    waiting = sync_verdict([CLOSED_ALLOW], NOON, manual=False)
    assert "no allow window is open" in waiting.message
    assert waiting.next_change == at("2026-05-04T20:00:00")
