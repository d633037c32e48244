"""`manage.py sync_connection ID [--data-type T ...]` against the Pulse fake server."""

import io

import pytest
from django.core.management import CommandError, call_command

from sources.models import SyncRun
from tests.fakes.base import FakeResponse
from tests.sources.ui.helpers import hold_claim

pytestmark = pytest.mark.django_db


def run_command(*args) -> str:
    out = io.StringIO()
    call_command("sync_connection", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def test_it_syncs_in_the_foreground_with_progress_and_final_counts(connection, fake):
    output = run_command(connection.id)
    run = SyncRun.objects.get(connection=connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.trigger == SyncRun.Trigger.MANUAL
    samples = run.counts["heartrate"]["samples"]
    assert samples > 0
    assert "% of the history" in output  # the progress line
    assert f"Sync run #{run.id}: Succeeded" in output
    assert f"heartrate: {samples:,} samples" in output
    assert fake.calls_to("/v1/data")


def test_it_syncs_only_the_data_types_asked_for(connection, fake):
    run_command(connection.id, "--data-type", "resting")
    run = SyncRun.objects.get(connection=connection)
    assert run.data_types == ["resting"]
    assert set(run.counts) == {"resting"}
    assert {c.query["type"] for c in fake.calls_to("/v1/data")} == {"resting"}


def test_a_failed_sync_exits_non_zero_and_says_why(connection, fake, settings):
    settings.SYNC_MAX_RETRIES = 1
    fake.fail_next(FakeResponse(503, {"error": "down"}), times=100, match="/v1/data")
    with pytest.raises(CommandError, match="ended failed"):
        run_command(connection.id)
    assert SyncRun.objects.get(connection=connection).status == SyncRun.Status.FAILED


def test_unknown_connections_and_data_types_are_refused(connection, fake):
    with pytest.raises(CommandError, match="No connection 999999"):
        run_command(999999)
    with pytest.raises(CommandError, match="Unknown data type"):
        run_command(connection.id, "--data-type", "steps")
    assert not fake.calls and not SyncRun.objects.exists()


def test_it_refuses_while_another_sync_runs(connection, fake):
    hold_claim(connection)
    with pytest.raises(CommandError, match="syncing right now"):
        run_command(connection.id)
    assert not fake.calls and not SyncRun.objects.exists()
