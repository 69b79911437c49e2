"""The published code: written from the data, accessible HTML, a printable PDF, plain text.

No test here is marked for the database: pytest-django refuses any query, so these tests also
show that rendering needs none.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from amends.codes import SHIPPED_CODES
from amends.codes.render import build_document, render_html, render_pdf, render_text
from amends.domain.checks import check_code
from amends.domain.codes import code_from_mapping, load_code

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
    assert "020 7520 3827" in text
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


def pdf_pages(pdf: bytes, tmp_path: Path) -> list[str]:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext not found: apt-get install poppler-utils (.ci/run installs it)")
    path = tmp_path / "code.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return [page for page in out.split("\f") if page.strip()]


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
