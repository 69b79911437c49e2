"""The email sender against a real SMTP server (aiosmtpd, started by each test): delivered once
with its Message-ID, refused and retried with back-off, given up with one alert, a dropped
connection, the lease between concurrent workers, and a worker killed mid-send."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from amends.cases.actions import case_open
from amends.cases.models import Case, Customer, Obligation
from amends.comms import sender
from amends.comms.models import OutboxKind, OutboxMessage
from amends.comms.outbox import Outbox, customer_recipient, staff_recipient
from amends.comms.sender import backoff, claim_next, lease, outbox_email_sweep
from amends.core.logging import JsonFormatter
from amends.domain.codes import CaseKind, ChannelType
from tests.cases.conftest import World, london
from tests.comms.conftest import SmtpServer
from tests.conftest import REPO, amends_command, amends_env, stop_process

T0 = london(2026, 11, 20, 10)
ADDRESS = "pat.example@example.invalid"
HTML = "<p>We have your complaint.</p>"


def with_email(world: World) -> World:
    Customer.objects.filter(pk=world.customer.pk).update(email=ADDRESS, preferred_contact="email")
    world.customer.refresh_from_db()
    return world


def open_case(world: World, at: datetime = T0) -> Case:
    return case_open(
        provider=world.provider,
        customer=world.customer,
        kind=CaseKind.COMPLAINT,
        channel=ChannelType.EMAIL,
        first_received_at=at,
        summary="Line dead since Monday",
        now=at,
        actor=world.staff,
    )


def queue(
    world: World,
    case: Case,
    key: str,
    *,
    at: datetime = T0,
    kind: OutboxKind = OutboxKind.PROGRESS_UPDATE,
    staff: bool = False,
) -> OutboxMessage:
    outbox = Outbox()
    recipient = (
        staff_recipient(world.manager, fallback_email=world.provider.alerts_email)
        if staff
        else customer_recipient(world.customer)
    )
    outbox.add(
        provider=world.provider,
        case=case,
        kind=kind,
        key=key,
        recipient=recipient,
        now=at,
        payload={"reference": case.reference},
    )
    outbox.flush()
    return OutboxMessage.objects.get(key=key)


def acknowledgement(world: World, at: datetime = T0) -> tuple[Case, OutboxMessage]:
    """A case and its acknowledgement by email, with an HTML part, meeting the promise."""
    case = open_case(with_email(world), at)
    key = f"case:{case.pk}:acknowledgement"
    row = OutboxMessage.objects.filter(key=key).first() or queue(
        world, case, key, at=at, kind=OutboxKind.ACKNOWLEDGEMENT
    )
    OutboxMessage.objects.filter(pk=row.pk).update(
        meets="acknowledge", body_html=row.body_html or HTML
    )
    row.refresh_from_db()
    assert (row.channel, row.status, row.recipient_address) == ("email", "queued", ADDRESS)
    return case, row


def email_rows() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(channel__in=("email", "staff")).order_by("pk"))


# -- delivered once ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def eight_attempts(settings: Any) -> None:
    """These tests give up after 8 attempts (about two hours) to stay short; the default is
    30 (about a day)."""
    settings.AMENDS_EMAIL_MAX_ATTEMPTS = 8


def test_backoff_doubles_from_a_minute_to_at_most_an_hour() -> None:
    assert [backoff(n) / timedelta(minutes=1) for n in range(1, 10)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
        60,
    ]
    assert sender.max_attempts() == 8 and lease() == timedelta(minutes=10)


@pytest.mark.django_db
def test_a_queued_email_is_delivered_once_and_meets_its_promise(
    iss: World, smtp_server: SmtpServer
) -> None:
    case, row = acknowledgement(iss)
    assert Obligation.objects.get(case=case, key="acknowledge").state == "pending"
    sweep_at = T0 + timedelta(seconds=1)

    assert outbox_email_sweep(sweep_at) == 1

    [received] = smtp_server.handler.received
    message = received.message
    assert received.rcpt_tos == [ADDRESS]
    assert message["Message-ID"] == row.message_id
    assert case.reference in message["Subject"]  # with its check character
    assert message["Subject"] == row.subject
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["From"].addresses[0].addr_spec == "complaints@amends.localhost"
    assert message["From"].addresses[0].display_name == iss.provider.name
    assert message["To"].addresses[0].addr_spec == ADDRESS
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().replace("\r\n", "\n") == row.body_text
    assert html.get_content().replace("\r\n", "\n").strip() == row.body_html.strip()

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)
    assert row.sent_at is not None and sweep_at <= row.sent_at < sweep_at + timedelta(seconds=30)
    ack = Obligation.objects.get(case=case, key="acknowledge")
    assert (ack.state, ack.met_at) == ("met", row.sent_at)
    case.refresh_from_db()
    assert case.acknowledged_at == row.sent_at
    assert case.events.filter(kind="message_delivered").count() == 1

    # Never again, however often the worker passes.
    for later in (timedelta(minutes=11), timedelta(days=2)):
        assert outbox_email_sweep(T0 + later) == 0
    assert len(smtp_server.handler.received) == 1


@pytest.mark.django_db
def test_messages_to_staff_go_to_the_staff_address_and_a_reply_is_not_auto_submitted(
    iss: World, smtp_server: SmtpServer
) -> None:
    case = open_case(with_email(iss))
    notice = queue(iss, case, "test:breach", kind=OutboxKind.BREACH_NOTICE, staff=True)
    assert (notice.channel, notice.audience) == ("staff", "staff")
    reply = queue(iss, case, "test:reply", kind=OutboxKind.REPLY)
    OutboxMessage.objects.filter(pk=reply.pk).update(written_by=f"user:{iss.handler.pk}")

    outbox_email_sweep(T0 + timedelta(seconds=1))

    by_id = {str(r.message["Message-ID"]): r for r in smtp_server.handler.received}
    assert by_id[notice.message_id].rcpt_tos == ["manager@iss.example.invalid"]
    assert by_id[notice.message_id].message["Auto-Submitted"] == "auto-generated"
    assert by_id[reply.message_id].rcpt_tos == [ADDRESS]
    assert by_id[reply.message_id].message["Auto-Submitted"] is None  # a person wrote it
    notice.refresh_from_db()
    assert notice.status == "sent" and notice.sent_at is not None
    # A notice to staff is marked sent by the sender; the customer's message is delivered
    # through the case (an event on its audit trail).
    delivered = [e.data["message"] for e in case.events.filter(kind="message_delivered")]
    assert reply.pk in delivered and notice.pk not in delivered


# -- refused, retried, given up ----------------------------------------------------------------


def logged(caplog: pytest.LogCaptureFixture) -> str:
    formatter = JsonFormatter()
    return "\n".join(
        formatter.format(r) for r in caplog.records if r.name.startswith("amends.comms")
    )


@pytest.mark.django_db
def test_a_temporary_refusal_is_retried_with_backoff_then_given_up_with_one_alert(
    iss: World, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="amends.comms.sender")
    case, row = acknowledgement(iss)
    smtp_server.handler.plan = ["451-rcpt"] * 8
    at = T0
    for attempt in range(1, 9):
        if attempt > 1:
            assert outbox_email_sweep(at - timedelta(seconds=1)) == 0  # not due yet
        assert outbox_email_sweep(at) == 1
        row.refresh_from_db()
        assert row.attempts == attempt
        assert "451" in row.last_error and "SMTPRecipientsRefused" in row.last_error
        assert "@" not in row.last_error and "<address>" in row.last_error
        if attempt < 8:
            assert row.status == "failed"
            wait = row.next_attempt_at - at
            assert backoff(attempt) <= wait < backoff(attempt) + timedelta(seconds=30)
            at = row.next_attempt_at
    assert row.status == "dead"
    assert smtp_server.handler.received == []
    alerts = OutboxMessage.objects.filter(kind="worker_alert")
    [alert] = alerts
    assert (alert.key, alert.channel, alert.audience) == (f"outbox:{row.pk}:dead", "staff", "staff")
    assert alert.recipient_address == "manager@iss.example.invalid"
    assert case.reference in alert.subject and "could not be delivered" in alert.subject
    assert "451" in alert.body_text and ADDRESS not in alert.body_text
    assert Obligation.objects.get(case=case, key="acknowledge").state == "pending"

    # Given up: never tried again; the alert itself goes to the manager, once.
    assert outbox_email_sweep(at + timedelta(days=1)) == 1
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [["manager@iss.example.invalid"]]
    assert smtp_server.handler.message_ids() == [alert.message_id]
    assert outbox_email_sweep(at + timedelta(days=2)) == 0
    assert OutboxMessage.objects.filter(kind="worker_alert").count() == 1

    text = logged(caplog)
    assert "email not sent" in text and "email given up" in text
    for secret in (ADDRESS, "manager@", row.subject, case.reference, "Pat Example"):
        assert secret not in text


@pytest.mark.django_db
def test_a_permanent_refusal_of_the_recipient_gives_up_at_once(
    iss: World, smtp_server: SmtpServer
) -> None:
    case, row = acknowledgement(iss)
    smtp_server.handler.plan = ["550-rcpt"]
    assert outbox_email_sweep(T0 + timedelta(seconds=1)) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("dead", 1)
    assert row.last_error.startswith("SMTPRecipientsRefused: 550")
    assert OutboxMessage.objects.filter(key=f"outbox:{row.pk}:dead").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("refusal", ["451-data", "550-data"])
def test_a_refused_message_is_retried_and_delivered_once(
    iss: World, smtp_server: SmtpServer, refusal: str
) -> None:
    case, row = acknowledgement(iss)
    smtp_server.handler.plan = [refusal]
    assert outbox_email_sweep(T0) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith(f"SMTPDataError: {refusal[:3]}")
    assert outbox_email_sweep(T0 + timedelta(seconds=59)) == 0
    assert outbox_email_sweep(T0 + timedelta(minutes=1, seconds=1)) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert smtp_server.handler.message_ids() == [row.message_id]
    assert not OutboxMessage.objects.filter(kind="worker_alert").exists()


@pytest.mark.django_db
def test_a_connection_dropped_mid_data_is_retried_and_the_next_message_still_goes(
    iss: World, smtp_server: SmtpServer
) -> None:
    case, first = acknowledgement(iss)
    second = queue(iss, case, "test:second", at=T0 + timedelta(seconds=1))
    smtp_server.handler.plan = ["drop"]

    assert outbox_email_sweep(T0 + timedelta(seconds=2)) == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.attempts) == ("failed", 1)
    assert first.last_error.startswith("SMTPServerDisconnected")
    assert second.status == "sent"  # a fresh connection for the next row in the same pass
    assert smtp_server.handler.message_ids() == [second.message_id]

    assert outbox_email_sweep(T0 + timedelta(minutes=1, seconds=5)) == 1
    first.refresh_from_db()
    assert first.status == "sent"
    assert sorted(smtp_server.handler.message_ids()) == sorted(
        [first.message_id, second.message_id]
    )


@pytest.mark.django_db
def test_an_unreachable_server_counts_no_attempt_and_says_why_the_rows_wait(
    iss: World, settings: Any
) -> None:
    from tests.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 5
    case, row = acknowledgement(iss)
    assert outbox_email_sweep(T0 + timedelta(seconds=1)) == 0
    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at) == ("queued", 0, T0)
    assert row.last_error.startswith("Waiting: the mail server cannot be reached")


@pytest.mark.django_db
def test_a_row_without_an_address_is_given_up_at_once(iss: World, smtp_server: SmtpServer) -> None:
    case, row = acknowledgement(iss)
    OutboxMessage.objects.filter(pk=row.pk).update(recipient_address="")
    assert outbox_email_sweep(T0) == 1
    row.refresh_from_db()
    assert (row.status, row.last_error) == ("dead", "Undeliverable: the row has no email address")
    assert OutboxMessage.objects.filter(key=f"outbox:{row.pk}:dead").exists()
    assert smtp_server.handler.transactions == 0


@pytest.mark.django_db
def test_when_recording_fails_the_next_pass_records_it_without_sending_again(
    iss: World, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    case, row = acknowledgement(iss)
    real = sender.case_message_delivered

    def broken(**kwargs: Any) -> Any:
        raise DatabaseError("the database went away")

    monkeypatch.setattr(sender, "case_message_delivered", broken)
    assert outbox_email_sweep(T0) == 1
    row.refresh_from_db()
    delivered = row.sent_at
    assert row.status == "failed" and delivered is not None
    assert "recording it failed: DatabaseError" in row.last_error

    monkeypatch.setattr(sender, "case_message_delivered", real)
    assert outbox_email_sweep(T0 + timedelta(minutes=2)) == 1
    row.refresh_from_db()
    assert (row.status, row.sent_at) == ("sent", delivered)
    assert Obligation.objects.get(case=case, key="acknowledge").met_at == delivered
    assert smtp_server.handler.message_ids() == [row.message_id]  # sent once


# -- the lease: concurrent workers, and a crash between sending and recording -----------------


def in_thread(target: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(target(*args))
        except BaseException as error:  # reported by the test
            results.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


@pytest.mark.django_db(transaction=True)
def test_a_claimed_row_is_not_sent_by_a_second_worker(iss: World, smtp_server: SmtpServer) -> None:
    case, row = acknowledgement(iss)
    smtp_server.handler.plan = ["hold"]
    first, results = in_thread(outbox_email_sweep, T0)
    try:
        assert smtp_server.handler.holding.wait(30), "the first worker never reached DATA"
        # The first worker has the message on the wire: a second finds nothing due, even
        # minutes later, while the lease runs.
        assert outbox_email_sweep(T0) == 0
        assert outbox_email_sweep(T0 + timedelta(minutes=9)) == 0
    finally:
        smtp_server.handler.release.set()
        first.join(30)
    assert results == [1]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)
    assert smtp_server.handler.message_ids() == [row.message_id]


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_deliver_every_message_exactly_once(
    iss: World, smtp_server: SmtpServer
) -> None:
    case = open_case(with_email(iss))
    rows = [queue(iss, case, f"test:many:{n}") for n in range(24)]
    expected = sorted(r.message_id for r in email_rows())
    workers = [in_thread(outbox_email_sweep, T0 + timedelta(minutes=1)) for _ in range(3)]
    for thread, _ in workers:
        thread.join(120)
    handled = [result for _, results in workers for result in results]
    assert all(isinstance(n, int) for n in handled), handled
    assert sum(handled) == len(expected) >= len(rows)
    assert sorted(smtp_server.handler.message_ids()) == expected
    assert {r.status for r in email_rows()} == {"sent"}
    assert {r.attempts for r in email_rows()} == {1}


@pytest.mark.django_db
def test_a_crash_after_sending_resends_once_after_the_lease_with_the_same_message_id(
    iss: World, smtp_server: SmtpServer
) -> None:
    case, row = acknowledgement(iss)
    # The dead worker's pass: claimed and sent, never recorded.
    claimed = claim_next(T0, clock=lambda: T0)
    assert claimed is not None and claimed.pk == row.pk
    smtp = sender._Connection()
    try:
        smtp.ensure_open()
        smtp.send(sender.build_message(claimed, connection=smtp.backend))
    finally:
        smtp.close()
    assert smtp_server.handler.message_ids() == [row.message_id]

    assert outbox_email_sweep(T0 + timedelta(minutes=1)) == 0
    assert outbox_email_sweep(T0 + lease() - timedelta(seconds=1)) == 0
    assert outbox_email_sweep(T0 + lease() + timedelta(seconds=1)) == 1
    assert smtp_server.handler.message_ids() == [row.message_id, row.message_id]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    for later in (lease() * 3, timedelta(days=3)):
        assert outbox_email_sweep(T0 + later) == 0
    assert len(smtp_server.handler.received) == 2  # never a third time


@pytest.mark.django_db
def test_a_row_whose_every_attempt_crashed_is_given_up_not_sent_again(
    iss: World, smtp_server: SmtpServer
) -> None:
    case, row = acknowledgement(iss)
    OutboxMessage.objects.filter(pk=row.pk).update(attempts=8)
    assert outbox_email_sweep(T0) == 1
    row.refresh_from_db()
    assert row.status == "dead" and "never finished" in row.last_error
    assert smtp_server.handler.transactions == 0
    assert OutboxMessage.objects.filter(key=f"outbox:{row.pk}:dead").count() == 1


@pytest.mark.subprocess
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_send_costs_at_most_one_extra_copy(
    iss: World, smtp_server: SmtpServer, test_database_url: str, tmp_path: Path
) -> None:
    """``amends worker`` is SIGKILLed while the server holds its message: the row is sent
    again after the lease, with the same Message-ID, and never a third time."""
    now = timezone.now()
    case, row = acknowledgement(iss, now)
    smtp_server.handler.plan = ["hold"]
    env = amends_env(
        tmp_path,
        DATABASE_URL=test_database_url,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_server.port),
        LOG_LEVEL="INFO",
    )
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        amends_command("worker", "--interval", "0.2"),
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        assert smtp_server.handler.holding.wait(60), (tmp_path / "worker.log").read_text()
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(30)
    finally:
        smtp_server.handler.release.set()
        stop_process(worker)
        log.close()
    assert worker.returncode == -signal.SIGKILL
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at) == ("queued", 1, None)
    assert row.next_attempt_at > timezone.now() + lease() - timedelta(minutes=1)

    assert outbox_email_sweep(timezone.now()) == 0  # the lease holds
    after = timezone.now() + lease() + timedelta(seconds=1)
    assert outbox_email_sweep(after) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert smtp_server.handler.message_ids() == [row.message_id, row.message_id]
    assert outbox_email_sweep(after + timedelta(days=1)) == 0
    assert len(smtp_server.handler.received) == 2
    # The worker logged ids only.
    lines = [
        json.loads(line)
        for line in (tmp_path / "worker.log").read_text().splitlines()
        if line.startswith("{")
    ]
    assert ADDRESS not in json.dumps(lines)


@pytest.mark.django_db
def test_the_claim_reads_through_the_partial_index(iss: World) -> None:
    """SQLite uses a partial index only when the query repeats its condition literally; on
    PostgreSQL the index must be usable (sequential scans off, as on a big table)."""
    from django.db import transaction

    case, row = acknowledgement(iss)
    query = (
        sender._due(T0)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("provider")
        .order_by("next_attempt_at")[:1]
    )
    with transaction.atomic(), connection.cursor() as cursor:
        sql, params = query.query.sql_with_params()
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(step[-1]) for step in cursor.fetchall())
        else:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = " ".join(str(step[0]) for step in cursor.fetchall())
    assert "outbox_due_idx" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
