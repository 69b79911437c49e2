"""Printed letters, read back from the PDF as a person and a post room would: A4, the address
inside the DL window (``pdftotext -bbox``) and nothing else there, large print of 16 pt or
more measured from the PDF's own text operators, "Page X of Y" on every page, every letter
kind rendered to images (``pdftoppm``); and the print queue: a letter marked posted is
delivered once, dated its posting day, and meets its promise."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from amends.cases.actors import staff_actor
from amends.cases.errors import CaseError, ErrorCode
from amends.cases.models import Case, Customer
from amends.comms.letters import (
    DL_WINDOW,
    LARGE_PRINT_PT,
    address_box,
    letter_layout,
    letter_pdf,
    letter_store,
)
from amends.comms.models import OutboxKind, OutboxMessage
from amends.comms.outbox import Outbox, customer_recipient
from amends.comms.printqueue import (
    call_script,
    call_tasks_for_staff,
    letter_mark_posted,
    print_queue_for_staff,
)
from amends.domain.access import Role
from amends.domain.codes import ChannelType
from amends.providers.models import StaffMember
from amends.providers.services import staff_create
from tests.cases.conftest import World, london
from tests.comms.test_documents import PAYLOADS, customer_details, name_handler, realistic_case

PT_PER_MM = 72 / 25.4
A4_PT = (595.28, 841.89)

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils (pdftotext, pdftoppm) are needed to read the letters back",
)

LONG_ADDRESS = "Unit 4, Riverside Business Park\nHigh Street\nLittle Snoring\nFakenham\nNR21 0AA"


# --------------------------------------------------------------------------- reading PDFs


@dataclass(frozen=True)
class Word:
    page: int
    text: str
    left: float  # pt from the page's left edge
    top: float  # pt from the page's top edge
    right: float
    bottom: float


def pdf_words(path: Path) -> list[Word]:
    """Every word with its box, from ``pdftotext -bbox`` (poppler)."""
    out = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    words: list[Word] = []
    for number, page in enumerate(re.findall(r"<page [^>]*>(.*?)</page>", out, re.S), start=1):
        for x0, y0, x1, y1, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            page,
        ):
            words.append(Word(number, text, float(x0), float(y0), float(x1), float(y1)))
    return words


def pdf_text(path: Path) -> list[str]:
    """The text of each page."""
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return out.split("\f")[:-1]


def pdf_page_size(path: Path) -> str:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    return next(line for line in out.stdout.splitlines() if line.startswith("Page size"))


_OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)\s*endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*)\r?\nendstream", re.S)
_TOKEN = re.compile(
    rb"\[(?:[^\]\\]|\\.)*\]|<<|>>|<[0-9A-Fa-f\s]*>|\((?:[^()\\]|\\.)*\)"
    rb"|/[^\s/\[\]()<>{}%]+|[-+]?(?:\d+\.?\d*|\.\d+)|[A-Za-z'\"*]+"
)


def _stream(body: bytes) -> bytes:
    found = _STREAM.search(body)
    assert found is not None
    data = found.group(1)
    return zlib.decompress(data) if b"/FlateDecode" in body[: found.start()] else data


def pdf_objects(pdf: bytes) -> dict[int, bytes]:
    """Every object, also those packed in object streams (PDF 1.5 /ObjStm)."""
    objects = {int(n): body for n, body in _OBJECT.findall(pdf)}
    for body in list(objects.values()):
        if b"/Type /ObjStm" not in body.split(b"stream", 1)[0]:
            continue
        head = body.split(b"stream", 1)[0]
        first = int(re.search(rb"/First (\d+)", head).group(1))  # type: ignore[union-attr]
        data = _stream(body)
        numbers = [int(x) for x in data[:first].split()]
        pairs = list(zip(numbers[::2], numbers[1::2], strict=True))
        for index, (number, offset) in enumerate(pairs):
            end = pairs[index + 1][1] if index + 1 < len(pairs) else len(data) - first
            objects[number] = data[first + offset : first + end]
    return objects


def _refs(body: bytes, key: bytes) -> list[int]:
    found = re.search(rb"/" + key + rb"\s*(\[[^\]]*\]|\d+ 0 R)", body)
    return [int(n) for n in re.findall(rb"(\d+) 0 R", found.group(1))] if found else []


def _multiply(m: list[float], n: list[float]) -> list[float]:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return [
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    ]


@dataclass(frozen=True)
class Run:
    """One text-showing operation: its effective size and where its baseline starts."""

    page: int
    size: float  # pt, after the text and graphics matrices
    x: float  # pt from the left edge
    y: float  # pt from the top edge (the baseline)


def pdf_text_runs(pdf: bytes) -> list[Run]:
    """The size and position of every piece of text, from the pages' content streams."""
    objects = pdf_objects(pdf)
    catalog = next(body for body in objects.values() if b"/Type /Catalog" in body)
    pages: list[int] = []

    def walk(number: int) -> None:
        body = objects[number]
        if re.search(rb"/Type\s*/Pages\b", body):
            for kid in _refs(body, b"Kids"):
                walk(kid)
        else:
            pages.append(number)

    walk(_refs(catalog, b"Pages")[0])
    runs: list[Run] = []
    for page_number, page in enumerate(pages, start=1):
        box = re.search(rb"/MediaBox\s*\[([^\]]*)\]", objects[page])
        height = float(box.group(1).split()[3]) if box else A4_PT[1]
        content = b"\n".join(_stream(objects[n]) for n in _refs(objects[page], b"Contents"))
        ctm = [1.0, 0, 0, 1.0, 0, 0]
        stack: list[list[float]] = []
        tm = [1.0, 0, 0, 1.0, 0, 0]
        line = list(tm)
        size = 0.0
        operands: list[bytes] = []
        for token in _TOKEN.findall(content):
            if re.fullmatch(rb"[A-Za-z'\"*]+", token):
                numbers = [float(x) for x in operands if re.fullmatch(rb"[-+.\d]+", x)]
                if token == b"q":
                    stack.append(list(ctm))
                elif token == b"Q":
                    ctm = stack.pop()
                elif token == b"cm":
                    ctm = _multiply(numbers[-6:], ctm)
                elif token == b"BT":
                    tm, line = [1.0, 0, 0, 1.0, 0, 0], [1.0, 0, 0, 1.0, 0, 0]
                elif token == b"Tm":
                    tm = line = numbers[-6:]
                elif token in (b"Td", b"TD"):
                    line = _multiply([1, 0, 0, 1, numbers[-2], numbers[-1]], line)
                    tm = list(line)
                elif token == b"Tf":
                    size = numbers[-1]
                elif token in (b"TJ", b"Tj", b"'", b'"'):
                    a, b, c, d, e, f = _multiply(tm, ctm)
                    runs.append(Run(page_number, size * math.hypot(c, d), e, height - f))
                operands = []
            else:
                operands.append(token)
    return runs


# --------------------------------------------------------------------------- making letters


def by_letter(*, large_print: bool, address: str | None = None) -> dict[str, Any]:
    """A customer who prefers letters (and large print)."""
    fields: dict[str, Any] = {
        "preferred_contact": "letter",
        "access_needs": ["large_print"] if large_print else [],
    }
    if address is not None:
        fields["postal_address"] = address
    return fields


def letter_customer(world: World, *, large_print: bool, address: str | None = None) -> Customer:
    return customer_details(world, **by_letter(large_print=large_print, address=address))


def queue_letter(world: World, case: Case, kind: OutboxKind, key: str) -> OutboxMessage:
    customer = Customer.objects.get(pk=case.customer_id)
    outbox = Outbox()
    outbox.add(
        provider=world.provider,
        case=case,
        kind=kind,
        key=key,
        recipient=customer_recipient(customer),
        now=london(2026, 5, 21, 9),
        payload={"reference": case.reference, **PAYLOADS[kind]},
    )
    outbox.flush()
    return OutboxMessage.objects.select_related("case", "provider").get(key=key)


def write_pdf(message: OutboxMessage, path: Path, **options: Any) -> Path:
    path.write_bytes(letter_pdf(message, **options))
    return path


def mm(pt: float) -> float:
    return pt / PT_PER_MM


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("large_print", [False, True])
@pytest.mark.parametrize("world_name", ["iss", "v4voip"])
def test_the_adr_letter_fits_a_dl_window_envelope(
    world_name: str, large_print: bool, request: pytest.FixtureRequest, db: None, tmp_path: Path
) -> None:
    world: World = request.getfixturevalue(world_name)
    case = realistic_case(world, **by_letter(large_print=large_print))
    message = OutboxMessage.objects.get(case=case, kind="adr_letter")
    assert message.channel == "post"
    assert ("large_print" in message.formats) is large_print
    path = write_pdf(message, tmp_path / "letter.pdf", dated=date(2026, 5, 21))
    assert "(A4)" in pdf_page_size(path)

    # The address: every word inside the window (and inside its clear margin), and no other
    # word showing through it.
    window = DL_WINDOW
    box = address_box()
    address = {w for line in letter_layout(message).address_lines for w in line.split()}
    first_page = [w for w in pdf_words(path) if w.page == 1]
    shown = [
        w
        for w in first_page
        if mm(w.right) > window.left
        and mm(w.left) < window.right
        and mm(w.bottom) > window.top
        and mm(w.top) < window.bottom
    ]
    assert {w.text for w in shown} == address
    for word in shown:
        assert window.contains(mm(word.left), mm(word.top), mm(word.right), mm(word.bottom))
        assert box.left - 0.01 <= mm(word.left) and mm(word.right) <= box.right + 0.01
    left = min(mm(w.left) for w in shown)
    top = min(mm(w.top) for w in shown)
    bottom = max(mm(w.bottom) for w in shown)
    right = max(mm(w.right) for w in shown)
    print(
        f"{world_name} large={large_print}: address text {left:.1f}-{right:.1f} mm across, "
        f"{top:.1f}-{bottom:.1f} mm down; window {window.left}-{window.right} x "
        f"{window.top}-{window.bottom} mm"
    )

    # Date, reference, page numbers, the provider at the top.
    pages = pdf_text(path)
    flat = [" ".join(page.split()) for page in pages]
    assert "Date: Thursday 21 May 2026" in flat[0]
    assert f"Our reference: {case.reference}" in flat[0]
    for number, page in enumerate(flat, start=1):
        assert f"Page {number} of {len(pages)}" in page
    for page in flat[1:]:
        assert case.reference in page  # later pages say whose letter they are
    letterhead = [w for w in first_page if mm(w.top) < window.top]
    assert letterhead and min(mm(w.left) for w in letterhead) >= 115
    assert "Amends" not in " ".join(flat)

    # The letter's own date starts the customer's 12 months.
    assert "12 months from the date of this letter, Thursday 21 May 2026," in " ".join(flat)

    # Sizes measured from the PDF's text operators.
    runs = pdf_text_runs(path.read_bytes())
    body = [
        r
        for r in runs
        if not (
            r.page == 1
            and window.left <= mm(r.x) <= window.right
            and window.top <= mm(r.y) <= window.bottom
        )
    ]
    in_window = [r for r in runs if r not in body]
    smallest = min(r.size for r in body)
    address_size = min(r.size for r in in_window)
    print(
        f"{world_name} large={large_print}: smallest text {smallest:.2f} pt, "
        f"address {address_size:.2f} pt, {len(pages)} pages"
    )
    lines = len(letter_layout(message).address_lines)
    if large_print:
        assert smallest >= LARGE_PRINT_PT - 0.01
        # Up to 5 lines fit the window at 16 pt; this address has 6 (name, business, 4).
        assert lines == 6 and 13.0 <= address_size < LARGE_PRINT_PT
    else:
        assert smallest >= 9.0 and address_size == 12.0


def test_a_long_address_is_set_smaller_to_stay_inside_the_window(
    iss: World, tmp_path: Path
) -> None:
    case = realistic_case(
        iss,
        business_name="Example Trading and Consultancy Ltd",
        **by_letter(large_print=True, address=LONG_ADDRESS),
    )
    message = OutboxMessage.objects.get(case=case, kind="adr_letter")
    layout = letter_layout(message)
    assert len(layout.address_lines) == 7
    assert layout.address_pt < LARGE_PRINT_PT  # 7 lines do not fit at 16 pt
    path = write_pdf(message, tmp_path / "long.pdf")
    words = [w for w in pdf_words(path) if w.page == 1 and mm(w.top) < DL_WINDOW.bottom + 5]
    address = {w for line in layout.address_lines for w in line.split()}
    placed = [w for w in words if w.text in address and mm(w.left) < 112]
    assert {w.text for w in placed} == address
    for word in placed:
        assert DL_WINDOW.contains(mm(word.left), mm(word.top), mm(word.right), mm(word.bottom))
    # Everything else is still large print.
    runs = pdf_text_runs(path.read_bytes())
    outside = [
        r
        for r in runs
        if not (
            r.page == 1
            and DL_WINDOW.top <= mm(r.y) <= DL_WINDOW.bottom
            and mm(r.x) < DL_WINDOW.right
        )
    ]
    assert min(r.size for r in outside) >= LARGE_PRINT_PT - 0.01


def test_a_five_line_address_keeps_large_print(v4voip: World, tmp_path: Path) -> None:
    case = realistic_case(v4voip, business_name="", **by_letter(large_print=True))
    message = OutboxMessage.objects.get(case=case, kind="adr_letter")
    layout = letter_layout(message)
    assert len(layout.address_lines) == 5
    path = write_pdf(message, tmp_path / "five.pdf")
    runs = pdf_text_runs(path.read_bytes())
    assert min(r.size for r in runs) >= LARGE_PRINT_PT - 0.01  # the address too
    placed = [w for w in pdf_words(path) if w.page == 1 and mm(w.left) < DL_WINDOW.right]
    placed = [w for w in placed if DL_WINDOW.top - 5 < mm(w.top) < DL_WINDOW.bottom]
    assert placed
    for word in placed:
        assert DL_WINDOW.contains(mm(word.left), mm(word.top), mm(word.right), mm(word.bottom))


LETTER_KINDS = [
    kind for kind in OutboxKind if kind not in (OutboxKind.BREACH_NOTICE, OutboxKind.WORKER_ALERT)
]


@pytest.mark.parametrize("world_name", ["iss", "v4voip"])
def test_every_letter_kind_prints_and_can_be_looked_at(
    world_name: str, request: pytest.FixtureRequest, db: None, tmp_path: Path
) -> None:
    """Every kind as a PDF and as page images (``pdftoppm -png -r 60``), in large print for
    V4VoIP and ordinary print for ISS; set ``AMENDS_LETTER_IMAGES`` to a directory to keep
    the images and look at them."""
    world: World = request.getfixturevalue(world_name)
    case = realistic_case(world, **by_letter(large_print=world_name == "v4voip"))
    for kind in LETTER_KINDS:
        message = queue_letter(world, case, kind, f"test:{kind.value}")
        path = write_pdf(message, tmp_path / f"{world_name}-{kind.value}.pdf")
        pages = pdf_text(path)
        assert pages, kind
        text = " ".join(" ".join(pages).split())
        assert case.reference in text
        assert f"Page 1 of {len(pages)}" in text
        assert "Amends" not in text and "0330 440 1600" not in text
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                str(path),
                str(tmp_path / f"{world_name}-{kind.value}"),
            ],
            check=True,
        )
        images = sorted(tmp_path.glob(f"{world_name}-{kind.value}-*.png"))
        assert len(images) == len(pages)
        assert all(image.stat().st_size > 5_000 for image in images)  # not blank pages
        if keep := os.environ.get("AMENDS_LETTER_IMAGES"):  # to look at them afterwards
            Path(keep).mkdir(parents=True, exist_ok=True)
            for image in images:
                shutil.copy(image, keep)


def test_letter_store_saves_the_pdf_once_with_its_digest(v4voip: World) -> None:
    import hashlib

    case = realistic_case(v4voip, **by_letter(large_print=False))
    message = OutboxMessage.objects.get(case=case, kind="adr_letter")
    assert not message.document
    now = london(2026, 5, 21, 9)
    letter_store(message, now)
    message.refresh_from_db()
    assert message.document.name.startswith("letters/")
    with message.document.open("rb") as stored:
        data = stored.read()
    assert data.startswith(b"%PDF")
    assert message.document_sha256 == hashlib.sha256(data).hexdigest()
    name = message.document.name
    letter_store(message, now + timedelta(days=3))  # kept as it was printed
    message.refresh_from_db()
    assert message.document.name == name
    message.document.delete(save=False)


def adviser(world: World) -> User:
    return staff_create(
        provider=world.provider, username=f"{world.provider.slug}-adv", role=Role.ADVISER
    ).user


def test_a_letter_marked_posted_is_delivered_once_dated_its_posting_day(
    iss: World, v4voip: World, tmp_path: Path
) -> None:
    """The acknowledgement waits in the print queue; marking it posted prints it dated that
    day, delivers it once and meets the acknowledgement with the posting date."""
    letter_customer(v4voip, large_print=True)
    name_handler(v4voip)
    case = v4voip.open(london(2026, 5, 5, 10), channel=ChannelType.POST, note="")
    message = OutboxMessage.objects.get(case=case, kind="acknowledgement")
    assert (message.channel, message.status, message.meets) == ("post", "queued", "acknowledge")
    staff = adviser(v4voip)
    assert list(print_queue_for_staff(staff)) == [message]
    assert list(print_queue_for_staff(adviser(iss))) == []  # another provider's letter
    assert list(call_tasks_for_staff(staff)) == []

    actor = staff_actor(StaffMember.objects.get(user=staff))
    now = london(2026, 5, 6, 16)
    posted = letter_mark_posted(
        outbox_id=message.pk, actor=actor, now=now, posted_on=date(2026, 5, 6)
    )
    assert posted.status == "sent" and posted.sent_at == now
    assert posted.delivered_by == f"user:{staff.pk}"
    assert posted.document and posted.document_sha256
    assert list(print_queue_for_staff(staff)) == []
    case.refresh_from_db()
    assert case.acknowledged_at == now
    path = tmp_path / "posted.pdf"
    with posted.document.open("rb") as stored:
        path.write_bytes(stored.read())
    text = " ".join(" ".join(pdf_text(path)).split())
    assert "Date: Wednesday 6 May 2026" in text
    assert min(r.size for r in pdf_text_runs(path.read_bytes())) >= 13  # large print

    with pytest.raises(CaseError) as again:
        letter_mark_posted(outbox_id=message.pk, actor=actor, now=now, posted_on=date(2026, 5, 6))
    assert again.value.field == "outbox_id"
    events = case.events.filter(kind="message_delivered").count()
    assert events == 1
    posted.document.delete(save=False)


def test_a_letter_posted_on_an_earlier_day_counts_from_that_day(v4voip: World) -> None:
    letter_customer(v4voip, large_print=False)
    case = v4voip.open(london(2026, 5, 5, 10), channel=ChannelType.POST, note="")
    message = OutboxMessage.objects.get(case=case, kind="acknowledgement")
    actor = staff_actor(StaffMember.objects.get(user=adviser(v4voip)))
    now = london(2026, 5, 8, 9)
    with pytest.raises(CaseError) as future:
        letter_mark_posted(outbox_id=message.pk, actor=actor, now=now, posted_on=date(2026, 5, 9))
    assert future.value.field == "posted_on"
    with pytest.raises(CaseError) as before:
        letter_mark_posted(outbox_id=message.pk, actor=actor, now=now, posted_on=date(2026, 5, 4))
    assert before.value.field == "posted_on"
    posted = letter_mark_posted(
        outbox_id=message.pk, actor=actor, now=now, posted_on=date(2026, 5, 6)
    )
    assert posted.sent_at == london(2026, 5, 6, 23, 59, 59)
    case.refresh_from_db()
    assert case.acknowledged_at == london(2026, 5, 6, 23, 59, 59)
    posted.document.delete(save=False)


def test_another_providers_letter_is_not_found(iss: World, v4voip: World) -> None:
    letter_customer(v4voip, large_print=False)
    case = v4voip.open(london(2026, 5, 5, 10), channel=ChannelType.POST, note="")
    message = OutboxMessage.objects.get(case=case, kind="acknowledgement")
    theirs = staff_actor(StaffMember.objects.get(user=adviser(iss)))
    with pytest.raises(CaseError) as refused:
        letter_mark_posted(
            outbox_id=message.pk,
            actor=theirs,
            now=london(2026, 5, 6, 9),
            posted_on=date(2026, 5, 6),
        )
    assert refused.value.code is ErrorCode.NOT_FOUND


def test_a_phone_customer_gets_a_call_task_with_its_script(v4voip: World) -> None:
    customer_details(v4voip, preferred_contact="phone")
    name_handler(v4voip)
    case = v4voip.open(london(2026, 5, 5, 10), channel=ChannelType.POST, note="")
    message = OutboxMessage.objects.get(case=case, kind="acknowledgement")
    assert message.channel == "phone"
    staff = adviser(v4voip)
    assert list(call_tasks_for_staff(staff)) == [message]
    assert list(print_queue_for_staff(staff)) == []
    script = call_script(message)
    assert script.startswith(f"Call task: Acknowledgement, case {case.reference}")
    assert "Call Pat Example on 01632 960 001." in script
    assert f"Your reference is {case.reference}." in script
    assert "Log the call on the case" in script
    assert "Amends" not in script


# ------------------------------------------------------------------ the ADR letter by post


def deadlocked_by_letter(world: World) -> tuple[Case, OutboxMessage]:
    from amends.domain.lifecycle import Action

    letter_customer(world, large_print=False)
    case = world.open(london(2026, 5, 5, 10), channel=ChannelType.POST, note="")
    world.act(case, Action.DECLARE_DEADLOCK, london(2026, 5, 12, 11))
    case.refresh_from_db()
    letter = OutboxMessage.objects.get(case=case, kind="adr_letter")
    return case, letter


def test_a_posted_adr_letter_is_dated_and_meets_its_clock_when_posted(
    v4voip: World, tmp_path: Path
) -> None:
    """ "The posting date is the letter's date of issue for the clocks and the 12-month
    limit": written at deadlock, the letter waits; the ADR clock is met by its posting."""
    from amends.cases.models import Obligation

    case, letter = deadlocked_by_letter(v4voip)
    assert letter.channel == "post" and letter.status == "queued"
    assert case.adr_letter_issued_at == london(2026, 5, 12, 11)  # the decision
    assert case.adr_letter_dated_at is None  # the customer has nothing yet
    assert Obligation.objects.get(case=case, key="adr_letter").state == "pending"

    actor = staff_actor(StaffMember.objects.get(user=adviser(v4voip)))
    posted = letter_mark_posted(
        outbox_id=letter.pk, actor=actor, now=london(2026, 5, 14, 9), posted_on=date(2026, 5, 13)
    )
    case.refresh_from_db()
    assert case.adr_letter_dated_at == london(2026, 5, 13, 23, 59, 59)
    clock = Obligation.objects.get(case=case, key="adr_letter")
    assert (clock.state, clock.met_at) == ("met", case.adr_letter_dated_at)
    event = case.events.get(kind="message_delivered")
    assert datetime.fromisoformat(event.data["adr_letter_dated"]) == case.adr_letter_dated_at
    # The customer's 12 months run from the date the printed letter bears.
    path = tmp_path / "adr.pdf"
    with posted.document.open("rb") as stored:
        path.write_bytes(stored.read())
    text = " ".join(" ".join(pdf_text(path)).split())
    assert "Date: Wednesday 13 May 2026" in text
    assert "from the date of this letter, Wednesday 13 May 2026" in text
    posted.document.delete(save=False)


def test_an_adr_letter_still_unposted_at_the_adr_point_is_a_breach(v4voip: World) -> None:
    from amends.cases.models import Obligation
    from amends.cases.worker import obligation_sweep

    case, letter = deadlocked_by_letter(v4voip)
    clock = Obligation.objects.get(case=case, key="adr_letter")
    obligation_sweep(now=clock.due_at + timedelta(seconds=1))
    clock.refresh_from_db()
    assert clock.state == "breached"
    notice = OutboxMessage.objects.get(case=case, kind="breach_notice")
    assert notice.audience == "staff" and notice.payload["obligation"] == "adr_letter"
    # Only one ADR letter: the worker does not write a second one over the queued one.
    assert OutboxMessage.objects.filter(case=case, kind="adr_letter").count() == 1


def test_an_emailed_adr_letter_is_dated_its_issue(v4voip: World) -> None:
    from amends.domain.lifecycle import Action

    customer_details(v4voip, preferred_contact="email")
    case = v4voip.open(london(2026, 5, 5, 10))
    v4voip.act(case, Action.DECLARE_DEADLOCK, london(2026, 5, 12, 11))
    case.refresh_from_db()
    assert case.adr_letter_dated_at == london(2026, 5, 12, 11)
