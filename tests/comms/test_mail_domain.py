"""Reading inbound mail (amends.domain.mail): pure, on real-world shapes, and never raising."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amends.domain import mail
from amends.domain.reference import make_reference

EML = Path(__file__).parent / "eml"
OURS = "<3f2a9c0d1e4b5a6978877665544332211@v4voip.example>"
REFERENCE = make_reference("V4V", 26, 123)


def eml(name: str, **tokens: str) -> bytes:
    """A message of the corpus, with its placeholders (``%%NAME%%``) filled in."""
    raw = (EML / name).read_bytes()
    values = {"OUR_MESSAGE_ID": OURS, "REFERENCE": REFERENCE, "MESSAGE_ID_LOCAL": "m1"}
    values.update(tokens)
    for key, value in values.items():
        raw = raw.replace(f"%%{key}%%".encode(), value.encode())
    return raw


def parsed(name: str, **tokens: str) -> mail.ParsedMail:
    result = mail.parse(eml(name, **tokens))
    assert isinstance(result, mail.ParsedMail), result
    return result


# --------------------------------------------------------------------------- replies


def test_an_outlook_reply_shows_what_the_customer_wrote_without_our_quoted_message() -> None:
    message = parsed("outlook_reply.eml")
    assert message.in_reply_to == (OURS,)
    assert message.thread_ids() == (OURS,)
    assert "the engineer still hasn\u2019t come" in message.display_text.lower()
    assert "Ombudsman" not in message.display_text  # our quoted acknowledgement is gone
    assert "Ombudsman" in message.text  # and kept in the whole text
    assert message.from_name == "Priya Raman"


def test_a_gmail_reply_strips_the_on_date_wrote_block() -> None:
    message = parsed("gmail_reply.eml")
    assert message.display_text.startswith("Thanks. Friday morning works")
    assert "wrote:" not in message.display_text
    assert "not happy" not in message.display_text
    # References: nearest first (the message replied to), then the customer's first mail.
    assert message.thread_ids() == (OURS, "<CAJ8xQ1rFirstCustomerMail=abc@mail.gmail.com>")


def test_an_apple_mail_reply_decodes_quoted_printable_utf8_and_strips_the_quote() -> None:
    message = parsed("apple_mail_reply.eml")
    assert message.from_name == "Gr\u00e1inne O\u2019Connell"
    assert "A \u00a320 credit doesn\u2019t cover" in message.display_text
    assert "We propose a credit" not in message.display_text


def test_a_forwarded_message_is_shown_whole() -> None:
    message = parsed("forwarded.eml")
    assert message.forwarded
    assert "Amount due: 148.20 GBP" in message.display_text


# --------------------------------------------------------------------------- charsets


def test_iso_8859_1_body_and_rfc2047_name_are_decoded() -> None:
    message = parsed("iso_8859_1.eml")
    assert message.from_name == "Beno\u00eet Lef\u00e8vre"
    assert "caf\u00e9 premises" in message.display_text
    assert "\u00a312.50" in message.display_text
    # Outlook's en dash (0x96) in an ISO-8859-1-labelled word is read as Windows-1252.
    assert message.subject == "Changement d'adresse \u2013 caf\u00e9 in Ayr"


def test_windows_1252_text_labelled_iso_8859_1_keeps_its_quotes_and_euro() -> None:
    message = parsed("windows_1252.eml")
    assert "We\u2019ve been charged \u20ac40 for \u201croaming\u201d" in message.display_text
    assert message.subject == "Roaming charge \u2013 \u20ac 40"
    assert message.from_name == "Dafydd \u201cDai\u201d Rhys"


def test_shift_jis_body_and_encoded_headers_are_decoded() -> None:
    message = parsed("shift_jis.eml")
    assert message.subject == "\u96fb\u8a71\u56de\u7dda\u306e\u969c\u5bb3"
    assert message.from_name == "\u5c71\u7530 \u592a\u90ce"
    assert "\u96fb\u8a71\u56de\u7dda\u304c\u6628\u65e5\u304b\u3089" in message.display_text


def test_rfc2047_headers_folded_over_two_lines_are_joined() -> None:
    message = parsed("rfc2047_headers.eml")
    assert message.subject == "Line down \u2013 florist in Llanfair \u2013 3 days \u273f"
    assert message.from_name == "Si\u00e2n Ll\u0177r"
    assert "Si\u00e2n" in message.display_text  # 8bit UTF-8 body


@pytest.mark.parametrize(
    ("data", "charset", "text"),
    [
        (b"caf\xe9", "iso-8859-1", "caf\u00e9"),
        (b"it\x92s \x80 5", "iso-8859-1", "it\u2019s \u20ac 5"),
        (b"caf\xc3\xa9", "us-ascii", "caf\u00e9"),  # UTF-8 mislabelled as ASCII
        (b"\x82\xa0", "shift_jis", "\u3042"),
        (b"\x87\x40", "shift_jis", "\u2460"),  # CP932's circled one, not in JIS X 0208
        (b"caf\xe9", "x-unknown-charset", "caf\u00e9"),
        (b"\xff\xfe", "utf-8", "\u00ff\u00fe"),
    ],
)
def test_decode_text_repairs_labels_as_mail_clients_do(
    data: bytes, charset: str, text: str
) -> None:
    assert mail.decode_text(data, charset) == text


# --------------------------------------------------------------------------- arrival


def test_arrival_is_the_receiving_servers_received_line_not_the_senders_date() -> None:
    message = parsed("new_complaint.eml")
    assert message.sent_at == datetime(2026, 11, 22, 21, 40, tzinfo=UTC)
    # The lower Received line is the sender's own server (09:02); ours is on top.
    assert message.arrived_at == datetime(2026, 11, 23, 10, 15, 7, tzinfo=UTC)


def test_arrival_skips_a_received_line_without_a_date_and_none_without_any() -> None:
    assert mail.arrival_time(
        ["from a by b with local", "from c by d; Tue, 24 Nov 2026 09:00:00 +0100"]
    ) == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert mail.arrival_time([]) is None
    assert mail.arrival_time(["from a by b; not a date"]) is None


# --------------------------------------------------------------------------- structure


def test_attachments_are_listed_with_type_size_and_a_refused_one_says_why() -> None:
    message = parsed("multipart_attachments.eml")
    listed = {a.filename: a for a in message.attachments}
    assert set(listed) == {"router.png", "bill-november.pdf", "speedtest.exe"}
    assert listed["bill-november.pdf"].content_type == "application/pdf"
    assert listed["bill-november.pdf"].content.startswith(b"%PDF-1.4")
    assert listed["bill-november.pdf"].size == len(listed["bill-november.pdf"].content)
    assert listed["router.png"].refused == ""
    assert "can run programs" in listed["speedtest.exe"].refused
    assert listed["speedtest.exe"].content == b""
    assert "flashing orange" in message.display_text


def _with_attachment(size: int, *, name: str = "scan.pdf", ctype: str = "application/pdf") -> bytes:
    message = EmailMessage()
    message["From"] = "Pat Example <pat@example.co.uk>"
    message["To"] = "complaints@v4voip.example"
    message["Subject"] = "My bills, scanned"
    message["Message-ID"] = "<big-attachment@example.co.uk>"
    message.set_content("The scans of the last three bills are attached.")
    maintype, subtype = ctype.split("/")
    message.add_attachment(
        random.Random(size).randbytes(size), maintype=maintype, subtype=subtype, filename=name
    )
    return message.as_bytes(policy=SMTP)


def test_a_20_mb_attachment_is_refused_and_listed_and_the_message_kept() -> None:
    raw = _with_attachment(20 * 1024 * 1024)
    message = mail.parse(raw)
    assert isinstance(message, mail.ParsedMail)
    (attachment,) = message.attachments
    assert attachment.size == 20 * 1024 * 1024
    assert attachment.refused == "too large: 20.0 MB, the limit is 10 MB per attachment"
    assert attachment.content == b""
    assert message.display_text == "The scans of the last three bills are attached."


def test_a_type_not_allowed_is_refused_and_listed() -> None:
    raw = _with_attachment(100, name="backup.zip", ctype="application/zip")
    message = mail.parse(raw)
    assert isinstance(message, mail.ParsedMail)
    assert message.attachments[0].refused == "type application/zip is not accepted"


def test_html_is_sanitised_and_an_html_only_message_is_read_as_text() -> None:
    message = parsed("html_only.eml")
    assert "<script" not in message.html and "alert(" not in message.html
    assert "onload" not in message.html
    assert "<img" not in message.html and "tracker.example" not in message.html
    assert "javascript:" not in message.html
    assert '<a href="https://haddad-law.example/"' in message.html
    assert "formal complaint" in message.display_text
    assert "<p>" not in message.display_text


def test_no_message_id_is_an_empty_id() -> None:
    message = parsed("no_message_id.eml")
    assert message.message_id == ""
    assert mail.quick_message_id(eml("no_message_id.eml")) == ""
    assert mail.quick_message_id(eml("gmail_reply.eml")) == message_id_of("gmail_reply.eml")


def message_id_of(name: str) -> str:
    return parsed(name).message_id


# --------------------------------------------------------------------------- quarantine


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "the message is empty"),
        (b"   \r\n\r\n ", "the message is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "no header fields"),
        (b"<html><body>not mail</body></html>", "no header fields"),
        (b"X-Thing: 1\n\nbody", "no From, To, Subject or Message-ID"),
    ],
)
def test_what_is_not_a_message_is_quarantined_with_its_reason(raw: bytes, reason: str) -> None:
    result = mail.parse(raw)
    assert isinstance(result, mail.Quarantined)
    assert reason in result.reason


def test_broken_mime_is_quarantined_with_its_reason() -> None:
    result = mail.parse(eml("broken_mime.eml"))
    assert isinstance(result, mail.Quarantined)
    assert result.reason.startswith("broken MIME")
    assert result.subject == "Case notes export"


def test_a_missing_closing_boundary_is_tolerated_and_noted() -> None:
    raw = (
        b"From: a@example.co.uk\nTo: b@example.co.uk\nSubject: cut off\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="XX"\n\n'
        b"--XX\nContent-Type: text/plain\n\nStill readable.\n"
    )
    message = mail.parse(raw)
    assert isinstance(message, mail.ParsedMail)
    assert message.display_text == "Still readable."
    assert "CloseBoundaryNotFoundDefect" in message.defects


# --------------------------------------------------------------------------- automatic mail


def test_an_out_of_office_reply_is_automatic() -> None:
    message = parsed("out_of_office.eml")
    assert message.auto_reply == "Auto-Submitted: auto-replied (RFC 3834)"
    assert message.automatic and message.bounce is None


def _headers(extra: str, subject: str = "Re: your complaint") -> bytes:
    return (
        f"From: Pat <pat@example.co.uk>\nTo: complaints@v4voip.example\nSubject: {subject}\n"
        f"Message-ID: <x@example.co.uk>\n{extra}\nhello\n"
    ).encode()


@pytest.mark.parametrize(
    ("extra", "subject", "automatic"),
    [
        ("Auto-Submitted: auto-replied\n", "Re: your complaint", True),
        ("Auto-Submitted: auto-generated; owner-email=x@y.z\n", "Re: your complaint", True),
        ("Auto-Submitted: no\n", "Re: your complaint", False),
        ("X-Autoreply: yes\n", "Re: your complaint", True),
        ("X-Autorespond: Vacation\n", "Re: your complaint", True),
        ("Precedence: bulk\n", "Re: your complaint", True),
        ("Precedence: list\n", "Re: your complaint", True),
        ("Precedence: junk\n", "Re: your complaint", True),
        ("Precedence: first-class\n", "Re: your complaint", False),
        ("", "Out of Office: back Monday", True),
        ("", "Automatic reply: V4V-26-000123-K", True),
        ("", "AutoReply: thanks for your email", True),
        ("", "RE: Out of the office", True),
        ("Return-Path: <>\n", "Hello", True),
        ("", "My office is out of action, no phone", False),
        ("", "Re: your complaint", False),
    ],
)
def test_automatic_replies_are_recognised_by_header_and_subject(
    extra: str, subject: str, automatic: bool
) -> None:
    message = mail.parse(_headers(extra, subject))
    assert isinstance(message, mail.ParsedMail)
    assert bool(message.auto_reply) is automatic, message.auto_reply


def test_a_dsn_bounce_names_our_message_and_the_failure() -> None:
    message = parsed("dsn_bounce.eml")
    assert message.bounce is not None
    assert message.bounce.failed
    assert message.bounce.status == "5.1.1"
    assert message.bounce.recipients == ("pat@old-domain.example",)
    assert message.bounce.original_message_ids == (OURS,)
    assert "User unknown" in message.bounce.describe()
    assert message.automatic


def test_a_delay_report_is_not_a_failure() -> None:
    raw = eml("dsn_bounce.eml").replace(b"Action: failed", b"Action: delayed")
    message = mail.parse(raw)
    assert isinstance(message, mail.ParsedMail) and message.bounce is not None
    assert message.bounce.action == "delayed" and not message.bounce.failed


def test_a_bounce_with_the_returned_message_attached_whole() -> None:
    raw = eml("dsn_bounce.eml").replace(
        b"Content-Type: text/rfc822-headers", b"Content-Type: message/rfc822"
    )
    message = mail.parse(raw)
    assert isinstance(message, mail.ParsedMail) and message.bounce is not None
    assert message.bounce.original_message_ids == (OURS,)
    assert message.attachments == ()  # our own message returned is not an attachment


def test_an_unstructured_bounce_from_mailer_daemon_is_recognised() -> None:
    raw = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example>\n"
        "To: complaints@v4voip.example\nSubject: Mail delivery failed: returning message\n"
        "Message-ID: <b1@relay.example>\n\n"
        "A message could not be delivered.\n\n------ This is a copy of the headers\n"
        f"Message-ID: {OURS}\nSubject: V4V-26-000123-K\n"
    ).encode()
    message = mail.parse(raw)
    assert isinstance(message, mail.ParsedMail) and message.bounce is not None
    assert message.bounce.original_message_ids == (OURS,)


# --------------------------------------------------------------------------- recognition


@pytest.mark.parametrize(
    ("text", "rules"),
    [
        ("I am not happy with the service", {"not happy"}),
        ("Not at all satisfied.", {"not happy"}),
        ("I want to complain about my bill", {"complain"}),
        ("This is a formal complaint", {"complain"}),
        ("That is simply unacceptable", {"unacceptable"}),
        ("I will go to the Ombudsman", {"ombudsman"}),
        ("please cancel my contract", {"cancel"}),
        ("I want a refund", {"refund"}),
        ("Very disappointed with the engineer", {"disappointed"}),
        ("I\u2019m fed up", {"fed up"}),
        ("it is still not fixed", {"still not fixed"}),
        ("the line still isn\u2019t working", {"still not fixed"}),
        ("awful service", {"poor service"}),
        ("we are frustrated", {"angry"}),
        ("my solicitor will write", {"legal action"}),
        ("we are switching provider", {"leaving"}),
        ("please escalate this", {"escalate"}),
        ("we were charged twice", {"overcharged"}),
        ("How do I set up voicemail?", set()),
        ("Please send the invoice as a PDF", set()),
        ("Can I add a second line to my account?", set()),
    ],
)
def test_dissatisfaction_rules_name_the_words_that_matched(text: str, rules: set[str]) -> None:
    found = mail.dissatisfaction(text)
    assert {t.rule for t in found} == rules
    for trigger in found:
        assert trigger.words.lower().replace("\u2019", "'") in text.lower().replace("\u2019", "'")


def test_a_negation_still_counts_erring_towards_complaint() -> None:
    assert [t.rule for t in mail.dissatisfaction("No complaints, just a question")] == ["complain"]


# --------------------------------------------------------------------------- references


def test_a_subject_reference_is_trusted_only_with_its_check_character() -> None:
    good = REFERENCE
    (mention,) = mail.subject_references(f"Re: {good}: Acknowledgement")
    assert mention.reference == good and mention.problem == ""
    wrong_check = good[:-1] + ("A" if good[-1] != "A" else "B")
    (mistyped,) = mail.subject_references(f"About {wrong_check}")
    assert mistyped.reference == "" and "check character" in mistyped.problem
    assert (mistyped.prefix, mistyped.year, mistyped.serial) == ("V4V", 26, 123)
    (no_check,) = mail.subject_references("About V4V-26-000123")
    assert no_check.problem == "no check character"


def test_a_reference_typed_in_lower_case_or_with_spaces_is_read() -> None:
    (mention,) = mail.subject_references(f"ref {REFERENCE.lower().replace('-', ' - ')}")
    assert mention.reference == REFERENCE


def test_phone_numbers_and_dates_are_not_references() -> None:
    assert mail.subject_references("Call 0161-26-123456 or 01-26-000123") == ()


def test_subject_core_strips_reply_prefixes() -> None:
    assert mail.subject_core("RE: Fwd: re:  V4V-26: Your   complaint") == "v4v-26: your complaint"
    assert mail.subject_core("Automatic reply: Hello") == "hello"


# --------------------------------------------------------------------------- fuzz

CORPUS = sorted(EML.glob("*.eml"))


def _check(raw: bytes) -> None:
    result = mail.parse(raw)
    assert isinstance(result, mail.ParsedMail | mail.Quarantined)
    if isinstance(result, mail.Quarantined):
        assert result.reason
        return
    for value in (result.subject, result.display_text, result.text, result.html, result.from_name):
        assert "\x00" not in value
        value.encode("utf-8")  # no lone surrogate: every database can store it
    for attachment in result.attachments:
        attachment.filename.encode("utf-8")
        assert attachment.refused or attachment.size <= mail.LIMITS.max_attachment_bytes


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_fuzz_random_bytes_never_raise(raw: bytes) -> None:
    _check(raw)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A corpus message cut, spliced, flipped and with bytes inserted."""
    raw = bytearray(eml(draw(st.sampled_from(CORPUS)).name))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "dup", "drop-line"]))
        at = draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[at] = draw(st.integers(0, 255))
        elif op == "cut":
            raw = raw[:at]
        elif op == "insert":
            raw[at:at] = draw(
                st.sampled_from(
                    [
                        b"\n--",
                        b"=?utf-8?B?",
                        b"=?x-unknown?Q?=FF=FE?=",
                        b"\r\n\r\n",
                        b"Content-Type: multipart/mixed; boundary=",
                        b'Content-Type: text/plain; charset="bogus"\n',
                        b"Content-Transfer-Encoding: base64\n",
                        b"\x00\xff\xfe",
                        b"<",
                        b"=\n",
                        b"Received: x; 99 Foo 99999 99:99:99 +9999\n",
                    ]
                )
            )
        elif op == "dup":
            end = min(len(raw), at + draw(st.integers(1, 400)))
            raw[at:at] = raw[at:end]
        elif op == "drop-line":
            end = raw.find(b"\n", at)
            del raw[at : end if end >= 0 else len(raw)]
    return bytes(raw)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fuzz_mutated_real_messages_never_raise(raw: bytes) -> None:
    _check(raw)


@st.composite
def generated(draw: st.DrawFn) -> bytes:
    """Messages built from parts: any header values, nested multiparts, odd encodings."""
    text = st.text(max_size=80)
    header_value = st.one_of(
        text,
        st.builds(
            lambda b: "=?utf-8?b?" + base64.b64encode(b).decode() + "?=", st.binary(max_size=30)
        ),
        st.sampled_from(["<>", "<@>", "a@", '"" <>', "=?utf-8?q?=ZZ?=", "(comment) <x@y>"]),
    )
    lines = [
        f"{name}: {draw(header_value)}".replace("\n", " ").replace("\r", " ")
        for name in draw(
            st.lists(
                st.sampled_from(
                    [
                        "From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To",
                        "References", "Date", "Received", "Auto-Submitted", "Precedence",
                        "Content-Disposition", "Return-Path",
                    ]
                ),
                max_size=12,
            )
        )
    ]  # fmt: skip
    boundary = draw(st.sampled_from(["b1", "", "x y", "--"]))
    depth = draw(st.integers(0, 3))
    body = draw(st.text(max_size=200))
    for level in range(depth):
        ctype = draw(st.sampled_from(["mixed", "alternative", "report", "related"]))
        part_type = draw(
            st.sampled_from(
                [
                    "text/plain; charset=utf-8",
                    "text/html; charset=iso-8859-1",
                    "message/rfc822",
                    "message/delivery-status",
                    "application/pdf; name=a.pdf",
                    "text/plain; charset=shift_jis",
                ]
            )
        )
        encoding = draw(st.sampled_from(["7bit", "base64", "quoted-printable", "x-bogus"]))
        body = (
            f'Content-Type: multipart/{ctype}; boundary="{boundary}{level}"\n\n'
            f"--{boundary}{level}\nContent-Type: {part_type}\n"
            f"Content-Transfer-Encoding: {encoding}\n\n{body}\n--{boundary}{level}--\n"
        )
    raw = "\n".join(lines) + "\n" + (body if depth else "\n" + body)
    return raw.encode("utf-8", "surrogatepass")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated())
def test_fuzz_generated_messages_never_raise(raw: bytes) -> None:
    _check(raw)


def test_a_deeply_nested_message_is_read_or_quarantined_never_raised() -> None:
    raw = b"From: a@example.co.uk\nSubject: deep\n"
    for level in range(400):
        raw += f'Content-Type: multipart/mixed; boundary="b{level}"\n\n--b{level}\n'.encode()
    raw += b"Content-Type: text/plain\n\nbottom\n"
    _check(raw)
