"""The published code: written from the data, accessible HTML, a printable PDF, plain text.

No test here is marked for the database: pytest-django refuses any query, so these tests also
show that rendering needs none.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from amends.codes import SHIPPED_CODES, render
from amends.codes.render import build_document, render_html, render_pdf, render_text
from amends.domain.checks import check_code
from amends.domain.codes import AdrContactType, code_from_mapping, load_code, schema
from amends.domain.regulation import (
    APPROVED_SCHEMES,
    CISAS,
    COMMUNICATIONS_OMBUDSMAN,
    AdrScheme,
    BodyMatch,
    SchemeContact,
)

TODAY = date(2026, 11, 21)


def document(name: str, *, draft: bool = False, on: date = TODAY) -> Any:
    code = load_code(SHIPPED_CODES[name])
    return build_document(code, on=on, findings=check_code(code, on=on), draft=draft)


def template_data() -> dict[str, Any]:
    return tomllib.loads(SHIPPED_CODES["template"].read_text(encoding="utf-8"))


def section_text(html: str, section_id: str) -> str:
    # Top-level sections open and close at the start of a line; subsections are indented.
    match = re.search(rf'^<section id="{section_id}".*?^</section>', html, re.S | re.M)
    assert match, section_id
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0)))


class Outline(HTMLParser):
    """The tags of a page in order, and its headings' levels."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.headings: list[int] = []
        self.html_lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "html":
            self.html_lang = dict(attrs).get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


# --------------------------------------------------------------------------- HTML


def test_the_html_has_landmarks_a_heading_outline_and_no_tables() -> None:
    html = render_html(document("template"))
    page = outline(html)
    assert page.html_lang == "en-GB"
    for landmark in ("header", "nav", "main", "footer"):
        assert page.tags.count(landmark) == 1, landmark
    assert "table" not in page.tags
    assert page.headings.count(1) == 1 and page.headings[0] == 1
    # No level is skipped on the way down.
    for before, after in zip(page.headings, page.headings[1:], strict=False):
        assert after <= before + 1
    assert 'href="#main"' in html  # skip link
    assert '<meta name="viewport"' in html


def test_every_section_is_in_the_contents() -> None:
    doc = document("template")
    html = render_html(doc)
    nav = re.search(r"<nav.*?</nav>", html, re.S)
    assert nav is not None
    for section in doc.sections:
        assert f'href="#{section.id}"' in nav.group(0)
        assert f'id="{section.id}"' in html
    assert [s.id for s in doc.sections] == [
        "about",
        "how-to-complain",
        "what-happens-next",
        "escalation",
        "adr",
        "compensation",
        "other-contact",
        "accessibility",
        "comments",
    ]


def test_how_to_complain_lists_each_channel_with_its_hours_and_what_to_include() -> None:
    text = section_text(render_html(document("template")), "how-to-complain")
    for value in ("0808 157 0123", "complaints@example.com", "https://www.example.com/complaints"):
        assert value in text
    assert "Open Monday to Friday, 9am to 5:30pm, except bank holidays." in text
    assert "What to tell us" in text and "Checking who you are" in text
    html = render_html(document("template"))
    assert 'href="tel:08081570123"' in html
    assert 'href="mailto:complaints@example.com"' in html


def test_what_happens_next_gives_every_promise_and_the_closure_rule() -> None:
    text = section_text(render_html(document("template")), "what-happens-next")
    assert "We will acknowledge your complaint within 1 working day." in text
    assert "Your case handler will contact you within 2 working days" in text
    assert "at least every 5 working days" in text
    assert "We aim to resolve your complaint within 10 working days." in text
    assert "only when you confirm that it has been resolved" in text


def test_conditional_promises_say_when_they_hold() -> None:
    html = render_html(document("v4voip", draft=True))
    assert "If you contact us by email or by post, we will acknowledge your complaint." in html
    assert (
        "If you have a support and maintenance contract with us, we will respond to your "
        "support request within 4 working hours." in html
    )


def test_the_adr_section_comes_from_the_registry_and_the_law() -> None:
    data = template_data()
    data["adr"]["contacts"] = []  # the file gives no contact details at all
    code = code_from_mapping(data, filename="t.toml")
    html = render_html(build_document(code, on=TODAY))
    text = section_text(html, "adr")
    for detail in ("PO Box 730", "Warrington", "WA4 6WU", "0330 440 1614", "commsombudsman.org"):
        assert detail in text
    assert "ADR is free for you." in text
    assert "12 months from the date of our letter" in text
    assert "not resolved 6 weeks after we first received it" in text
    assert "deadlock" in text
    assert "within 28 days of your acceptance" in text


def test_a_cisas_member_gets_cisas_details_and_its_remedy_deadline() -> None:
    data = template_data()
    data["adr"].update(scheme="CISAS", contacts=[])
    html = render_html(build_document(code_from_mapping(data), on=TODAY))
    text = section_text(html, "adr")
    assert "CISAS (the Communications and Internet Services Adjudication Scheme)" in text
    # Only the details the registry holds as verified: CISAS's website is, its phone number
    # (from earlier CEDR pages) is not.
    for contact in CISAS.contacts:
        shown = contact.lines[1] if len(contact.lines) > 1 else contact.value
        assert (shown in text) is (contact.evidence == "V"), contact
    assert "https://www.cisas.co.uk" in text
    assert "within 20 working days of your acceptance" in text
    assert "Ombudsman" not in text


def test_the_draft_of_v4voip_says_what_amends_will_do_and_lists_the_errors() -> None:
    doc = document("v4voip", draft=True)
    html = render_html(doc)
    findings = section_text(html, "draft-findings")
    for rule_id in ("ADR-001", "ADR-007", "ADR-004", "CH-003", "CH-004"):
        assert rule_id in findings
    assert "DRAFT" in html.split("<main")[0]  # the banner before the content
    adr = section_text(html, "adr")
    # The law's 6 weeks (what the clocks do), the scheme's current name and its full address.
    assert "6 weeks after we first received it" in adr
    assert "8 weeks" not in adr
    assert "Communications Ombudsman" in adr and "Ombudsman Services" not in adr
    assert "WA4 6WU" in adr
    assert "ADR is free for you." in adr


def test_the_draft_of_iss_does_not_send_customers_to_ofcom() -> None:
    html = render_html(document("iss", draft=True))
    adr = section_text(html, "adr")
    assert "names “Ofcom” where an Ofcom-approved ADR scheme belongs" in adr
    assert "020 7981 3040" not in html and "Riverside House" not in html
    assert "ADR is free for you." in adr
    compensation = section_text(html, "compensation")
    assert "as a credit to your monthly invoice or in another way we agree with you" in (
        compensation
    )
    assert "Comments on this code" in html


def test_a_clean_render_has_no_draft_marks() -> None:
    html = render_html(document("template"))
    assert "DRAFT" not in html
    assert "draft.css" not in html


def test_provider_text_is_escaped() -> None:
    data = template_data()
    data["compensation"]["detail"] = "We pay <script>alert(1)</script> & more"
    html = render_html(build_document(code_from_mapping(data), on=TODAY))
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html and "&amp; more" in html


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize("name", ["template", "v4voip", "iss"])
def test_the_text_is_wrapped_plain_text(name: str) -> None:
    text = render_text(document(name, draft=name != "template"))
    long_lines = [line for line in text.splitlines() if len(line) > 72 and " " in line.strip()]
    assert long_lines == []
    assert "<" not in text.replace("<script", "")
    assert text.endswith("\n")


def test_the_text_draft_starts_and_ends_with_draft_and_lists_the_errors() -> None:
    text = render_text(document("v4voip", draft=True))
    assert text.startswith("DRAFT - NOT FOR PUBLICATION")
    assert text.rstrip().endswith("DRAFT - NOT FOR PUBLICATION")
    assert "ERROR ADR-001 at adr.after" in text


def test_text_and_html_say_the_same_things() -> None:
    doc = document("template")
    text = " ".join(render_text(doc).split())
    html = render_html(doc)
    for section in doc.sections:
        assert section.heading in text
        for block in section.blocks:
            if block.kind == "para":
                assert " ".join(block.text.split()) in text
                assert block.text.replace('"', "&quot;").replace("'", "&#x27;") in html


# --------------------------------------------------------------------------- PDF


def pdf_pages(
    pdf: bytes, tmp_path: Path, *, layout: bool = True, per_page: bool = False
) -> list[str]:
    """The text of each page (``pdftotext -layout``; one run per page with ``per_page``)."""
    for tool in ("pdftotext", "pdfinfo"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: apt-get install poppler-utils (.ci/run installs it)")
    path = tmp_path / "code.pdf"
    path.write_bytes(pdf)

    def text(*args: str) -> str:
        command = ["pdftotext", *(["-layout"] if layout else []), *args, str(path), "-"]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    if not per_page:
        return [page for page in text().split("\f") if page.strip()]
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    count = re.search(r"^Pages:\s+(\d+)", info.stdout, re.M)
    assert count is not None
    return [text("-f", str(n), "-l", str(n)) for n in range(1, int(count.group(1)) + 1)]


def test_the_pdf_is_a4_with_page_numbers_and_a_running_header(tmp_path: Path) -> None:
    pdf = render_pdf(document("template"))
    assert pdf.startswith(b"%PDF")
    pages = pdf_pages(pdf, tmp_path)
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert "Example Telecom: complaints code" in page
        assert "Version 1.0" in page
        assert "DRAFT" not in page
    if shutil.which("pdfinfo"):
        info = subprocess.run(
            ["pdfinfo", str(tmp_path / "code.pdf")], capture_output=True, text=True
        ).stdout
        assert "595.276 x 841.89 pts (A4)" in info


def test_every_page_of_a_draft_pdf_says_draft(tmp_path: Path) -> None:
    pages = pdf_pages(render_pdf(document("v4voip", draft=True)), tmp_path)
    assert len(pages) >= 3
    for page in pages:
        assert "DRAFT" in page
    assert "ADR-001" in pages[0] or "ADR-001" in pages[1]


# --------------------------------------------------------------------------- what customers read


SOFTWARE = re.compile(r"\bamends\b", re.IGNORECASE)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text in reading order, with whitespace collapsed."""
    return " ".join(pdf_pages(pdf, tmp_path, layout=False))


def visible_text(html: str) -> str:
    """What a browser shows of the page: no stylesheet, no markup, whitespace collapsed."""
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def outputs(doc: Any, tmp_path: Path) -> dict[str, str]:
    """The document in the three formats, whitespace collapsed (text wraps, PDF breaks)."""
    return {
        "html": " ".join(render_html(doc).split()),
        "text": " ".join(render_text(doc).split()),
        "pdf": " ".join(pdf_text(render_pdf(doc), tmp_path).split()),
    }


@pytest.mark.parametrize("name", ["template", "v4voip", "iss"])
def test_the_published_code_never_names_the_software(name: str, tmp_path: Path) -> None:
    doc = document(name)  # as customers would read it: no draft listing
    for fmt, output in outputs(doc, tmp_path).items():
        assert not SOFTWARE.search(output), (fmt, SOFTWARE.findall(output))


def test_the_footer_says_in_the_providers_voice_where_the_details_come_from() -> None:
    doc = document("template")
    assert doc.footer == (
        "Example Telecom: Complaints Code of Practice. Version 1.0, in force from 8 April 2026. "
        "This copy was produced on 21 November 2026. Contact details for the Communications "
        "Ombudsman are those published by the scheme on its website, www.commsombudsman.org."
    )
    # A code that names no approved scheme says nothing about a scheme's details.
    assert "Contact details" not in document("iss", draft=True).footer


DOUBLED_VERSION = re.compile(r"\bversion\W+(?:version|vers?|vsn|vn|v)(?=[\W\d])", re.IGNORECASE)


@pytest.mark.parametrize(
    ("given", "label"),
    [
        ("Vsn 1.3", "Version 1.3"),
        ("v2", "Version 2"),
        ("Version 4", "Version 4"),
        ("1.3", "Version 1.3"),
        ("V.2.1", "Version 2.1"),
        ("version v5", "Version 5"),
        ("Issue 7", "Issue 7"),
    ],
)
def test_the_version_is_said_once(given: str, label: str) -> None:
    data = template_data()
    data["code"]["version"] = given
    doc = build_document(code_from_mapping(data), on=TODAY)
    assert doc.version_line == f"{label}, in force from 8 April 2026"
    html, text = visible_text(render_html(doc)), " ".join(render_text(doc).split())
    for output in (html, text):
        assert not DOUBLED_VERSION.search(output), DOUBLED_VERSION.findall(output)
        assert "Version Version" not in output
        if label.startswith("Version "):
            number = label.removeprefix("Version ")
            assert f"This is version {number} of our code, in force from 8 April 2026." in output
        else:
            assert f"This version of our code, “{label}”, is in force from 8 April 2026." in output


def test_the_iss_version_string_is_not_doubled() -> None:
    doc = document("iss", draft=True)
    assert doc.version_line == "Version 1.3"
    assert doc.running_title == "ISS: complaints code · Version 1.3"
    assert "Vsn" not in render_html(doc) and "Vsn" not in render_text(doc)


def escalation_steps(doc: Any) -> tuple[str, ...]:
    section = next(s for s in doc.sections if s.id == "escalation")
    return next(block.items for block in section.blocks if block.kind == "steps")


def test_an_escalation_level_is_always_a_whole_sentence() -> None:
    data = template_data()
    data["escalation"] = [
        {"role": "Manager"},
        {"role": "Director"},
        {
            "role": "Managing Director",
            "trigger": "If you are not happy about the way in which your complaint has been "
            "handled.",
            "review_within": "20 working days",
        },
        {
            "role": "Chief Executive",
            "trigger": "if you are still unhappy, you can write to our Chief Executive",
        },
        {
            "role": "Board",
            "trigger": "If you are still not satisfied, ask for a review.",
            "detail": "The Board meets monthly.",
        },
    ]
    doc = build_document(code_from_mapping(data), on=TODAY)
    assert escalation_steps(doc) == (
        "You can ask for your complaint to go to our Manager.",
        "If you are still not satisfied, you can ask for it to go to our Director.",
        "If you are not happy about the way in which your complaint has been handled, you can "
        "ask for your complaint to go to our Managing Director. They will review your "
        "complaint within 20 working days.",
        "If you are still unhappy, you can write to our Chief Executive.",
        "If you are still not satisfied, ask for a review. Your complaint then goes to our "
        "Board. The Board meets monthly.",
    )


SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@pytest.mark.parametrize("name", ["template", "v4voip", "iss"])
def test_no_step_or_paragraph_is_a_fragment(name: str) -> None:
    doc = document(name, draft=name != "template")
    for section in doc.sections:
        for block in (*section.blocks, *(b for sub in section.subsections for b in sub.blocks)):
            texts = [block.text] if block.kind == "para" else list(block.items)
            if block.kind != "para" and block.kind != "steps":
                continue  # bullets of what to include are phrases by design; contacts are cards
            for text in texts:
                assert text.endswith((".", ":", "?")), (section.id, text)
                for sentence in SENTENCE_END.split(text):
                    assert len(sentence.split()) >= 4, (section.id, text)
    assert "(not given in this code)" not in render_text(doc)


def test_a_section_the_provider_left_empty_is_left_out() -> None:
    data = template_data()
    data["comments"] = {}
    data["case_kinds"]["code_comment"] = {}
    data["case_kinds"]["abuse_report"] = {}
    data["channels"] = [c for c in data["channels"] if "abuse" not in c["purposes"]]
    doc = build_document(code_from_mapping(data), on=TODAY)
    assert "comments" not in [section.id for section in doc.sections]
    other = next(section for section in doc.sections if section.id == "other-contact")
    assert "abuse" not in [sub.id for sub in other.subsections]
    html, text = render_html(doc), render_text(doc)
    for output in (html, text):
        assert "Comments on this code" not in output and "Reporting abuse" not in output
    for section in doc.sections:
        assert section.blocks or section.subsections, section.id
        for sub in section.subsections:
            assert sub.blocks, sub.id


def test_a_channel_without_a_value_is_left_out_and_named_to_the_provider() -> None:
    code = load_code(SHIPPED_CODES["v4voip"])
    doc = build_document(code, on=TODAY)
    text = render_text(doc)
    assert "not given in this code" not in text
    assert "Abuse reports" not in text  # the channel with no address
    valueless = [c.path for c in code.channels if not c.value]
    assert valueless
    for path in valueless:
        assert any(f"({path})" in notice for notice in doc.withheld), path
    draft = render_html(document("v4voip", draft=True))
    assert f"({valueless[0]}) has no" in section_text(draft, "draft-findings")


# --------------------------------------------------------------------------- nothing dropped

#: Strings the format accepts that the published code does not print as written, and why. A
#: new string field is printed unless it is added here with a reason.
NOT_PRINTED_AS_WRITTEN = {
    "code.references[]": "the provisions the code quotes; check reports superseded ones",
    "intake.collect[].key": "a key for the software; its label is printed",
    "adr.scheme": "the scheme is named from the registry, by its current name",
    "adr.contacts[].value": "a scheme's details come from the registry, verified ones only",
    "case_kinds.complaint.label": "complaints have their own headings",
    "case_kinds.code_comment.label": "comments on the code have their own heading",
}
_DURATION = get_args(schema.DurationText)[1]


def _strings(tp: Any, metadata: tuple[Any, ...], path: str) -> Iterator[str]:
    """The paths of every string a provider writes in the format (durations excepted)."""
    origin = get_origin(tp)
    if origin in (Union, UnionType):
        for arg in get_args(tp):
            if arg is not type(None):
                yield from _strings(arg, (), path)
    elif origin is Annotated:
        base, *meta = get_args(tp)
        yield from _strings(base, tuple(meta), path)
    elif origin is list:
        (item,) = get_args(tp)
        yield from _strings(item, (), f"{path}[]")
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, field in tp.model_fields.items():
            where = f"{path}.{name}" if path else name
            yield from _strings(field.annotation, tuple(field.metadata), where)
    elif tp is str and _DURATION not in metadata:
        yield path


def free_text_paths() -> list[str]:
    return list(_strings(schema.CodeFile, (), ""))


def _put(node: dict[str, Any], parts: list[str], marker: Callable[[], str]) -> None:
    head, *rest = parts
    key = head.removesuffix("[]")
    if not rest:
        if head.endswith("[]"):
            node.setdefault(key, []).append(marker())
        else:
            node[key] = marker()
    elif head.endswith("[]"):
        items = node.get(key) or []
        assert items, f"the template has no {key} to write a marker into: add one"
        for item in items:
            _put(item, rest, marker)
    else:
        _put(node.setdefault(key, {}), rest, marker)


def marked_code() -> tuple[Any, dict[str, str]]:
    """The template with a unique marker in every string the format accepts."""
    data = template_data()
    markers: dict[str, str] = {}
    for path in free_text_paths():
        if path in NOT_PRINTED_AS_WRITTEN:
            continue

        def marker(path: str = path) -> str:
            value = f"QZ{len(markers):03d}QZ"
            markers[value] = path
            return value

        _put(data, path.split("."), marker)
    return code_from_mapping(data, filename="marked.toml"), markers


def test_the_marker_code_covers_every_free_text_field() -> None:
    paths = set(free_text_paths())
    for expected in (
        "channels[].notes",
        "channels[].audience",
        "case_kinds.complaint.description",
        "case_kinds.code_comment.promises[].detail",
        "escalation[].detail",
        "closure.detail",
        "adr.detail",
        "compensation.detail",
        "accessibility.statement",
        "comments.detail",
    ):
        assert expected in paths
    assert set(NOT_PRINTED_AS_WRITTEN) <= paths  # no stale exemption
    assert "escalation[].review_within" not in paths  # durations are not free text
    _, markers = marked_code()
    assert set(markers.values()) == paths - set(NOT_PRINTED_AS_WRITTEN)


def test_every_free_text_the_provider_wrote_is_published(tmp_path: Path) -> None:
    code, markers = marked_code()
    doc = build_document(code, on=TODAY)
    for fmt, output in outputs(doc, tmp_path).items():
        missing = {marker: path for marker, path in markers.items() if marker not in output}
        assert missing == {}, fmt


# --------------------------------------------------------------------------- verified only


@pytest.mark.parametrize("scheme", APPROVED_SCHEMES, ids=lambda scheme: scheme.id)
def test_only_verified_scheme_details_are_published(scheme: AdrScheme, tmp_path: Path) -> None:
    data = template_data()
    # The provider copies every value the registry holds, verified or not, into its code.
    contacts = [{"type": c.type.value, "value": c.value} for c in scheme.contacts]
    data["adr"].update(scheme=scheme.name, contacts=contacts)
    doc = build_document(code_from_mapping(data), on=TODAY)
    published = outputs(doc, tmp_path)
    for index, contact in enumerate(scheme.contacts):
        shown = contact.lines[1] if len(contact.lines) > 1 else contact.value
        for fmt, output in published.items():
            assert (shown in output) is (contact.evidence == "V"), (fmt, contact)
        notices = [n for n in doc.withheld if ", ".join(contact.lines) in n]
        if contact.evidence == "V":
            assert notices == []
        else:
            assert len(notices) == 1 and notices[0].startswith("Not published: ")
            assert f"(adr.contacts[{index}])" in notices[0]


def test_an_unverified_detail_is_shown_to_the_provider_not_the_customer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    evidence: dict[AdrContactType, Literal["V", "S", "R", "U"]] = {
        AdrContactType.TEXTPHONE: "U",
        AdrContactType.EMAIL: "S",
    }
    contacts = tuple(
        SchemeContact(c.type, c.value, evidence.get(c.type, "V"))
        for c in COMMUNICATIONS_OMBUDSMAN.contacts
    )
    assert {c.value for c in contacts} >= {"0330 440 1600", "enquiry@commsombudsman.org"}
    scheme = replace(COMMUNICATIONS_OMBUDSMAN, contacts=contacts)
    monkeypatch.setattr(render, "identify_adr_body", lambda name: BodyMatch(name, scheme=scheme))
    data = template_data()
    data["adr"]["contacts"].append({"type": "textphone", "value": "0330 440 1600"})
    code = code_from_mapping(data)
    doc = build_document(code, on=TODAY)
    assert doc.withheld == (
        "Not published: the Communications Ombudsman's textphone 0330 440 1600 is "
        "unverified; confirm it with the scheme. Your code gives the same textphone "
        "(adr.contacts[3]); it is not published as the Communications Ombudsman's until the "
        "scheme confirms it.",
        "Not published: the Communications Ombudsman's email address "
        "enquiry@commsombudsman.org is from a secondary source only; confirm it with the "
        "scheme.",
    )
    for fmt, output in outputs(doc, tmp_path).items():
        assert "0330 440 1614" in output, fmt
        assert "0330 440 1600" not in output, fmt
        assert "enquiry@commsombudsman.org" not in output, fmt
    draft = build_document(code, on=TODAY, findings=check_code(code, on=TODAY), draft=True)
    html = render_html(draft)
    listing = re.search(r'^<section id="draft-findings".*?^</section>', html, re.S | re.M)
    assert listing is not None
    assert "Left out of the published code" in listing.group(0)
    assert "0330 440 1600 is unverified" in listing.group(0)
    assert "0330 440 1600" not in html.replace(listing.group(0), "")
    text = render_text(draft)
    listing_text, published_text = text.split("=" * 72, 1)
    assert "0330 440 1600 is" in " ".join(listing_text.split())
    assert "0330 440 1600" not in published_text


def test_a_scheme_detail_the_file_gives_wrongly_is_named_to_the_provider() -> None:
    data = template_data()
    data["adr"]["contacts"].append({"type": "fax", "value": "0330 440 1615"})
    doc = build_document(code_from_mapping(data), on=TODAY)
    assert any("fax number as 0330 440 1615 (adr.contacts[3])" in n for n in doc.withheld)
    assert "0330 440 1615" not in render_text(doc)
    iss = build_document(load_code(SHIPPED_CODES["iss"]), on=TODAY)
    assert any("because it names “Ofcom”" in notice for notice in iss.withheld)


# --------------------------------------------------------------------------- pages


def test_headings_are_kept_with_what_follows() -> None:
    html = render_html(document("template"))
    rule = re.search(r"^h1, h2, h3 \{([^}]*)\}", html, re.M)
    assert rule is not None
    assert "break-after: avoid" in rule.group(1) and "page-break-after: avoid" in rule.group(1)
    main = html.split("<main", 1)[1]
    headings = re.findall(r"<h[23] ", main)
    kept = re.findall(r'<div class="keep">\s*<h[23] ', main)
    assert len(kept) == len(headings) > 0
    assert re.search(r"\.colophon \{[^}]*break-before: avoid", html)


WATERMARK = re.compile(r"[DRAFT](?: ?[DRAFT]){0,4}")


def heading_texts(html: str) -> set[str]:
    found = re.findall(r"<h([1-3])[^>]*>(.*?)</h\1>", html, re.S)
    return {" ".join(unescape(re.sub(r"<[^>]+>", "", text)).split()) for _, text in found}


def page_problems(doc: Any, tmp_path: Path) -> list[str]:
    """What a reader would see wrong on each page of the PDF: a page holding only the running
    header, the page number and the colophon; a page whose last body line is a heading."""
    headings = heading_texts(render_html(doc))
    colophon = " ".join(f"{doc.footer} DRAFT: not for publication.".split())
    pages = pdf_pages(render_pdf(doc), tmp_path, per_page=True)
    problems = []
    for number, page in enumerate(pages, start=1):
        lines = []
        for line in page.splitlines():
            chunks = [c for c in re.split(r"\s{3,}", line.strip()) if c]
            chunks = [c for c in chunks if not WATERMARK.fullmatch(c)]
            if chunks:
                lines.append(" ".join(chunks))
        assert doc.provider + ": complaints code" in lines[0], (number, lines[:1])
        assert f"Page {number} of {len(pages)}" in lines[-1], (number, lines[-1:])
        body = [line for line in lines[1:-1] if " ".join(line.split()) not in colophon]
        if not body:
            problems.append(f"page {number} has nothing but the header, footer and colophon")
            continue
        for count in (1, 2, 3):
            if " ".join(body[-count:]) in headings:
                problems.append(f"page {number} ends with the heading {body[-count:]}")
    return problems


def padded_template(words: int) -> Any:
    data = template_data()
    data["case_kinds"]["complaint"]["description"] += " " + " ".join(["Padding"] * words) + "."
    return build_document(code_from_mapping(data), on=TODAY)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: document("template"), id="template"),
        pytest.param(lambda: document("v4voip", draft=True), id="v4voip-draft"),
        pytest.param(lambda: document("iss", draft=True), id="iss-draft"),
        pytest.param(lambda: build_document(marked_code()[0], on=TODAY), id="marked"),
        pytest.param(lambda: padded_template(60), id="template-shifted-60"),
        pytest.param(lambda: padded_template(170), id="template-shifted-170"),
    ],
)
def test_every_page_has_body_text_and_no_page_ends_with_a_heading(
    make: Callable[[], Any], tmp_path: Path
) -> None:
    assert page_problems(make(), tmp_path) == []
