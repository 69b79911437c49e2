"""Welsh (cy) on the public pages and the customer's case page (issue 12): the catalogue is
complete and compiled, the pages render in Welsh (by cookie, by the browser's language, by the
switch), the switch keeps the page, the provider's code text stays as the provider wrote it,
and the Welsh pages pass axe-core in a real browser."""

from __future__ import annotations

import ast
import gettext
import html
import re
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import ngettext, pgettext
from playwright.sync_api import expect

from amends.cases import actions
from amends.cases.actors import system_actor
from amends.cases.models import Case
from amends.core.demo import demo_load
from amends.domain.codes import AdrContactType, CaseKind, ChannelType, OpeningHours, Weekday
from amends.domain.regulation import APPROVED_SCHEMES, COMMUNICATIONS_OMBUDSMAN
from amends.portal import localise
from amends.portal.public import YES_NO
from amends.providers.models import Provider
from tests.conftest import assert_accessible

REPO = Path(__file__).resolve().parents[2]
LC_MESSAGES = REPO / "amends" / "locale" / "cy" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"
SHOTS = Path("/tmp/amends-shots")

#: The plural rule of Welsh, as gettext's documentation and CLDR give it.
PLURAL_FORMS = (
    "nplurals=6; plural=(n==0) ? 0 : (n==1) ? 1 : (n==2) ? 2 : (n==3) ? 3 : (n==6) ? 4 : 5;"
)
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
GETTEXT_CALLS = {
    "_",
    "gettext",
    "gettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
}


# --------------------------------------------------------------------------- the catalogue


def parse_po(text: str) -> list[dict[str, Any]]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr {index: text}, flags."""
    entries: list[dict[str, Any]] = []
    entry: dict[str, Any] | None = None
    field: tuple[str, int] | None = None
    for raw in [*text.splitlines(), ""]:
        line = raw.strip()
        if not line:
            if entry is not None and "msgid" in entry:
                entries.append(entry)
            entry, field = None, None
            continue
        if entry is None:
            entry = {"flags": [], "msgstr": {}}
        if line.startswith("#,"):
            entry["flags"] += [flag.strip() for flag in line[2:].split(",")]
            continue
        if line.startswith("#"):
            continue
        found = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")$', line)
        if found:
            keyword, index, value = found.group(1), int(found.group(2) or 0), found.group(3)
            field = (keyword, index)
            if keyword == "msgstr":
                entry["msgstr"][index] = ast.literal_eval(value)
            else:
                entry[keyword] = ast.literal_eval(value)
            continue
        assert line.startswith('"') and field is not None, f"cannot read line {raw!r}"
        keyword, index = field
        if keyword == "msgstr":
            entry["msgstr"][index] += ast.literal_eval(line)
        else:
            entry[keyword] += ast.literal_eval(line)
    return entries


@pytest.fixture(scope="module")
def catalogue() -> list[dict[str, Any]]:
    return parse_po(PO.read_text(encoding="utf-8"))


def messages_of(catalogue: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in catalogue if entry["msgid"]]


def test_the_header_says_welsh_utf8_and_welsh_plurals(catalogue: list[dict[str, Any]]) -> None:
    header = next(entry for entry in catalogue if entry["msgid"] == "")
    fields = dict(line.split(": ", 1) for line in header["msgstr"][0].splitlines() if ": " in line)
    assert fields["Language"] == "cy"
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    assert fields["Plural-Forms"] == PLURAL_FORMS
    assert "fuzzy" not in header["flags"]


def test_every_message_is_translated_and_none_is_fuzzy(catalogue: list[dict[str, Any]]) -> None:
    messages = messages_of(catalogue)
    assert len(messages) > 250
    untranslated = []
    for entry in messages:
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        forms = 6 if "msgid_plural" in entry else 1
        assert sorted(entry["msgstr"]) == list(range(forms)), entry["msgid"]
        if not all(text.strip() for text in entry["msgstr"].values()):
            untranslated.append(entry["msgid"])
    assert not untranslated, untranslated
    assert "fuzzy" not in PO.read_text(encoding="utf-8")


def test_placeholders_are_kept_exactly(catalogue: list[dict[str, Any]]) -> None:
    for entry in messages_of(catalogue):
        wanted = set(PLACEHOLDER.findall(entry["msgid"]))
        if "msgid_plural" in entry:
            wanted |= set(PLACEHOLDER.findall(entry["msgid_plural"]))
        for text in entry["msgstr"].values():
            assert set(PLACEHOLDER.findall(text)) == wanted, (entry["msgid"], text)
            assert "{{" not in text and "{%" not in text, text
            assert text.count("%") == len(PLACEHOLDER.findall(text)), text


def test_the_compiled_catalogue_is_the_po_as_it_is_now(catalogue: list[dict[str, Any]]) -> None:
    """The .mo is committed (CI may lack gettext): it must give every translation of the .po."""
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert compiled.info()["language"] == "cy"
    assert compiled.info()["plural-forms"] == PLURAL_FORMS
    for entry in messages_of(catalogue):
        context, msgid = entry.get("msgctxt"), entry["msgid"]
        if "msgid_plural" in entry:
            for n, index in ((0, 0), (1, 1), (2, 2), (3, 3), (6, 4), (7, 5), (11, 5)):
                got = compiled.ngettext(msgid, entry["msgid_plural"], n)
                assert got == entry["msgstr"][index], (msgid, n)
        elif context is not None:
            assert compiled.pgettext(context, msgid) == entry["msgstr"][0], msgid
        else:
            assert compiled.gettext(msgid) == entry["msgstr"][0], msgid


def _source_messages() -> set[tuple[str | None, str]]:
    """Every literal message the code and templates mark for translation."""
    found: set[tuple[str | None, str]] = set()
    for path in (REPO / "amends").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in GETTEXT_CALLS:
                continue
            literals = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if not literals or not all(isinstance(v, str) for v in literals):
                continue
            if name in ("pgettext", "pgettext_lazy") and len(literals) >= 2:
                found.add((literals[0], literals[1]))
            else:
                found.add((None, literals[0]))
    tag = re.compile(r"""{%\s*(?:translate|trans)\s+(["'])(.+?)\1\s*(?:as\s+\w+\s*)?%}""")
    for path in (REPO / "amends").rglob("*.html"):
        for match in tag.finditer(path.read_text(encoding="utf-8")):
            found.add((None, match.group(2)))
    return found


def test_the_catalogue_has_every_message_marked_in_the_source(
    catalogue: list[dict[str, Any]],
) -> None:
    """A message marked since the catalogue was made would show in English: run makemessages."""
    have = {(entry.get("msgctxt"), entry["msgid"]) for entry in messages_of(catalogue)}
    missing = sorted(_source_messages() - have, key=str)
    assert not missing, missing


def test_welsh_plurals_and_context_at_run_time() -> None:
    """Django merges our catalogue (six forms) with its own Welsh one (four) correctly."""
    with translation.override("cy"):
        for n in (0, 1, 2, 3, 6, 10):
            assert (
                ngettext("Choose at most %(count)d file.", "Choose at most %(count)d files.", n)
                == "Dewiswch ddim mwy na %(count)d ffeil."
            )
        assert pgettext("before noon", "am") == "yb"
        assert pgettext("after noon", "pm") == "yh"
    with translation.override("en-gb"):
        assert pgettext("before noon", "am") == "am"


# --------------------------------------------------------------------------- the pages


def text_of(response: Any, status: int = 200) -> str:
    assert response.status_code == status, response.status_code
    return html.unescape(response.content.decode())


def case_with_link(slug: str = "iss") -> tuple[Case, str]:
    provider = Provider.objects.get(slug=slug)
    now = timezone.now()
    customer = actions.customer_create(
        provider=provider,
        now=now,
        contact_name="Rhian Evans",
        email="rhian@example.com",
        preferred_contact="email",
    )
    case = actions.case_open(
        provider=provider,
        customer=customer,
        kind=CaseKind.COMPLAINT,
        channel=ChannelType.WEB_FORM,
        first_received_at=now,
        summary="Calls drop every evening",
        now=now,
        actor=system_actor(provider.pk),
        link_url_for=lambda t: f"/{slug}/case/{t}/",
    )
    return case, f"/{slug}/case/{case.link_token}/"  # type: ignore[attr-defined]


@pytest.fixture
def welsh(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "cy"
    return client


@pytest.mark.django_db
def test_the_home_page_is_english_by_default(client: Client) -> None:
    demo_load()
    page = text_of(client.get("/iss/"))
    assert '<html lang="en-GB">' in page
    assert "Contact ISS" in page
    assert ">Cymraeg</button>" in page
    assert "Cysylltu" not in page


@pytest.mark.django_db
def test_the_home_page_in_welsh_keeps_the_code_text_as_written(welsh: Client) -> None:
    demo_load()
    page = text_of(welsh.get("/iss/"))
    assert '<html lang="cy">' in page
    assert "Neidio i'r prif gynnwys" in page
    assert "Cysylltu gyda ISS" in page
    assert "Beth allwch chi ei wneud" in page
    assert "Gwneud cwyn" in page
    assert "Darllen ein Cod Ymarfer" in page
    assert ">English</button>" in page
    # Fixed text is gone; the provider's own words (from its code) stay as it wrote them.
    assert "Skip to main content" not in page
    assert "What you can do" not in page
    assert "All complaints are logged" in page
    assert "Infinity System Solutions Ltd" in page


@pytest.mark.django_db
def test_the_browser_language_alone_gives_welsh(client: Client) -> None:
    demo_load()
    page = text_of(client.get("/iss/", HTTP_ACCEPT_LANGUAGE="cy,en-GB;q=0.8"))
    assert '<html lang="cy">' in page
    assert "Cysylltu gyda ISS" in page


@pytest.mark.django_db
def test_the_published_code_stays_in_english_marked_as_english(welsh: Client) -> None:
    demo_load()
    page = text_of(welsh.get("/iss/code/"))
    assert '<html lang="cy">' in page
    assert "Lawrlwytho'r cod fel PDF" in page
    assert "Cynnwys" in page
    # The code's own text: English, and said to be English for screen readers.
    heading = re.search(r'<h1 lang="en-GB">([^<]+)</h1>', page)
    assert heading is not None
    assert heading.group(1).strip()
    assert page.count('lang="en-GB"') > 2


@pytest.mark.django_db
def test_a_complaint_form_page_in_welsh(welsh: Client) -> None:
    demo_load()
    page = text_of(welsh.get("/iss/complaint/"))
    assert '<html lang="cy">' in page
    assert "Cwestiwn 1 o 5" in page
    assert "Dywedwch wrthym am eich cwyn" in page
    assert "Mewn ychydig eiriau, beth yw'r mater?" in page
    assert "Beth sy'n digwydd nesaf" in page
    assert "dolen breifat i ddilyn eich cwyn" in page
    assert ">Parhau</button>" in page
    # The dates of what happens next, in Welsh (Django's day and month names).
    assert re.search(r"erbyn \d{1,2}(:\d\d)?(yb|yh), Dydd \w+ \d{1,2} \w+ \d{4}", page)
    assert "Tell us about your complaint" not in page
    assert "Continue" not in page

    # Errors in Welsh too.
    errors = text_of(welsh.post("/iss/complaint/", {"summary": "", "description": ""}), 400)
    assert "Mae problem wedi codi" in errors
    assert "Dywedwch mewn ychydig eiriau beth yw'r mater." in errors
    assert "Gwall:" in errors


@pytest.mark.django_db
def test_the_case_page_in_welsh(welsh: Client) -> None:
    demo_load()
    case, url = case_with_link()
    page = text_of(welsh.get(url))
    assert '<html lang="cy">' in page
    assert f"Eich cwyn: {case.reference}" in page
    assert "Y sefyllfa nawr" in page
    assert "Mae wedi dod i law." in page
    assert "Eich hawl i adolygiad annibynnol (ADR)" in page
    assert "Gofyn am eich llythyr ADR" in page
    assert "Anfon neges" in page
    assert re.search(r"Hyd at \d+ ffeil: PDF, JPEG, PNG neu destun plaen", page)
    assert "Dydd " in page  # the due dates, in Welsh
    # What the customer wrote stays as written.
    assert "Calls drop every evening" in page
    assert "Send us a message" not in page
    assert "What happens next" not in page


@pytest.mark.django_db
def test_a_message_on_the_case_page_in_welsh(welsh: Client) -> None:
    demo_load()
    _case, url = case_with_link()
    response = welsh.post(f"{url}reply/", {"text": "Diolch am eich help."}, follow=True)
    page = text_of(response)
    assert "Mae eich neges wedi'i hanfon. Mae i'w gweld isod." in page
    assert "Anfonwyd ar y dudalen hon" in page


# --------------------------------------------------------------------------- the domain's words


HOURS = [
    OpeningHours(days=tuple(Weekday)[:5], opens=time(9), closes=time(17)),
    OpeningHours(days=tuple(Weekday)[:5], opens=time(8, 30), closes=time(17, 30)),
    OpeningHours(days=tuple(Weekday), opens=time(0), closes=time(12), bank_holidays=True),
    OpeningHours(days=(Weekday.SAT,), opens=time(10), closes=time(14)),
    OpeningHours(days=(Weekday.MON, Weekday.WED, Weekday.FRI), opens=time(7), closes=time(21)),
    OpeningHours(days=(Weekday.SAT, Weekday.SUN), opens=time(12), closes=time(16, 15)),
]


def test_the_domain_words_read_as_before_in_english() -> None:
    """In English, the portal's words are exactly the domain's: English pages did not change."""
    with translation.override("en-gb"):
        for hours in HOURS:
            assert localise.working_hours_text(hours) == hours.describe()
        for kind in ChannelType:
            assert localise.channel_type_label(kind) == kind.label
        for contact in AdrContactType:
            assert localise.contact_label(contact) == contact.label
        for scheme in APPROVED_SCHEMES:
            assert localise.scheme_name(scheme) == scheme.in_sentence
        assert localise.scheme_name(COMMUNICATIONS_OMBUDSMAN) == "the Communications Ombudsman"


def test_the_domain_words_in_welsh() -> None:
    with translation.override("cy"):
        assert (
            localise.working_hours_text(HOURS[0])
            == "Dydd Llun i ddydd Gwener, 9yb i 5yh, ac eithrio gwyliau banc"
        )
        assert localise.working_hours_text(HOURS[2]) == (
            "Dydd Llun i ddydd Sul, hanner nos i hanner dydd"
        )
        assert localise.working_hours_text(HOURS[4]).startswith(
            "Dydd Llun, Dydd Mercher a Dydd Gwener, 7yb i 9yh"
        )
        assert localise.channel_type_label(ChannelType.PHONE) == "Ffôn"
        assert localise.channel_type_label(ChannelType.WEB_FORM) == "Ffurflen ar-lein"
        assert localise.contact_label(AdrContactType.WEBSITE) == "Gwefan"
        assert localise.scheme_name(COMMUNICATIONS_OMBUDSMAN) == "Communications Ombudsman"
        for scheme in APPROVED_SCHEMES:
            assert not localise.scheme_name(scheme).startswith("the ")


def test_yes_and_no_answer_each_question_in_welsh() -> None:
    with translation.override("cy"):
        assert [str(label) for _value, label in YES_NO] == ["Nac oes", "Oes"]
        assert pgettext("answer to: are you acting for someone else?", "No") == "Nac ydw"
        assert (
            pgettext("answer to: are you acting for someone else?", "Yes: %(name)s (%(contact)s)")
            == "Ydw: %(name)s (%(contact)s)"
        )
    with translation.override("en-gb"):
        assert [str(label) for _value, label in YES_NO] == ["No", "Yes"]
        assert pgettext("answer to: are you acting for someone else?", "No") == "No"


@pytest.mark.django_db
def test_the_working_hours_and_channels_in_welsh(welsh: Client) -> None:
    demo_load()
    page = text_of(welsh.get("/iss/"))
    assert "Ein horiau gwaith yw Dydd Llun i ddydd Gwener, 9yb i 5yh" in page
    assert "ac eithrio gwyliau banc" in page
    assert "<h3>Ffôn</h3>" in page
    assert "<h3>Ffacs</h3>" in page
    for english in ("Monday", "Friday", "9am", "except bank holidays", "<h3>Phone</h3>"):
        assert english not in page, english
    # The provider's own words are said to be English.
    assert '<p class="hint" lang="en-GB">All complaints are logged' in page


@pytest.mark.django_db
def test_the_working_hours_and_channels_stay_as_they_were_in_english(client: Client) -> None:
    demo_load()
    page = text_of(client.get("/iss/"))
    assert "Our working hours are Monday to Friday, 9am to 5pm, except bank holidays." in page
    assert "<h3>Phone</h3>" in page
    assert "<h3>Fax</h3>" in page


@pytest.mark.django_db
def test_the_scheme_on_the_case_page_in_welsh(welsh: Client, client: Client) -> None:
    demo_load()
    _case, url = case_with_link()
    page = text_of(welsh.get(url))
    assert "â the " not in page
    assert "i the " not in page
    assert "Sut i gysylltu â Communications Ombudsman" in page
    contacts = page[page.index('id="scheme-contacts"') :]
    contacts = contacts[: contacts.index("</dl>")]
    labels = re.findall(r"<dt>([^<]+)</dt>", contacts)
    assert labels
    assert set(labels) <= {"Post", "Ffôn", "Ffôn testun", "Ffacs", "E-bost", "Gwefan"}, labels
    assert "Gwefan" in labels or "Ffôn" in labels

    english = text_of(Client().get(url))
    assert "How to contact the Communications Ombudsman" in english
    assert "<dt>Phone</dt>" in english or "<dt>Website</dt>" in english


@pytest.mark.django_db
def test_the_site_home_page_in_welsh(welsh: Client) -> None:
    demo_load()
    page = text_of(welsh.get("/"))
    assert '<html lang="cy">' in page
    assert "Ymdrin â chwynion a datrys anghydfodau" in page
    assert "Gwneud cwyn i ISS, gofyn cwestiwn, neu ddarllen ei god cwynion" in page
    assert "Neidio i'r prif gynnwys" in page
    assert "Complaint handling" not in page
    assert "Providers served here" not in page

    english = text_of(Client().get("/"))
    assert '<html lang="en-GB">' in english
    assert "Complaint handling and dispute resolution" in english
    assert "Make a complaint to ISS, ask a question, or read its complaints code" in english


@pytest.mark.django_db
def test_the_page_not_found_in_welsh(welsh: Client) -> None:
    page = text_of(welsh.get("/no/such/page/"), 404)
    assert '<html lang="cy">' in page
    assert "Heb ddod o hyd i'r dudalen" in page
    assert "Mynd i'r hafan" in page
    assert "Page not found" not in page
    assert "Page not found" in text_of(Client().get("/no/such/page/"), 404)


def test_the_server_error_page_in_welsh() -> None:
    """Rendered without a request: the language is the one active for the request."""
    with translation.override("cy"):
        page = html.unescape(render_to_string("portal/500.html"))
    assert '<html lang="cy">' in page
    assert "Mae'n ddrwg gennym, aeth rhywbeth o'i le" in page
    assert "Sorry" not in page
    with translation.override("en-gb"):
        page = html.unescape(render_to_string("portal/500.html"))
    assert '<html lang="en-GB">' in page
    assert "Sorry, something went wrong" in page


# --------------------------------------------------------------------------- the switch


def switch(client: Client, language: str, page: str) -> Any:
    return client.post("/i18n/setlang/", {"language": language, "next": page})


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/iss/", "/iss/complaint/", "/iss/code/"])
def test_the_switch_keeps_the_page(client: Client, page: str) -> None:
    demo_load()
    response = switch(client, "cy", page)
    assert response.status_code == 302
    assert response["Location"] == page
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "cy"
    assert '<html lang="cy">' in text_of(client.get(response["Location"]))

    back = switch(client, "en-gb", page)
    assert back["Location"] == page
    assert '<html lang="en-GB">' in text_of(client.get(back["Location"]))


@pytest.mark.django_db
def test_the_switch_keeps_the_case_page(client: Client) -> None:
    demo_load()
    _case, url = case_with_link()
    assert "Send us a message" in text_of(client.get(url))
    response = switch(client, "cy", url)
    assert response.status_code == 302
    assert response["Location"] == url
    page = text_of(client.get(url))
    assert '<html lang="cy">' in page
    assert "Anfon neges atom" in page


@pytest.mark.django_db
def test_the_switch_on_the_page_posts_back_to_that_page(client: Client) -> None:
    demo_load()
    page = text_of(client.get("/iss/complaint/"))
    form = re.search(r'<form class="language-switch" method="post" action="([^"]+)">', page)
    assert form is not None
    assert form.group(1) == "/i18n/setlang/"
    assert '<input type="hidden" name="next" value="/iss/complaint/">' in page
    assert '<button type="submit" name="language" value="cy" lang="cy"' in page


@pytest.mark.django_db
def test_the_switch_does_not_go_elsewhere(client: Client) -> None:
    demo_load()
    response = switch(client, "cy", "https://evil.example/iss/")
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


# --------------------------------------------------------------------------- in a browser


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"welsh-{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_welsh_in_a_browser(web_server: str, page: Any) -> None:
    demo_load()
    _case, case_url = case_with_link()

    page.goto(f"{web_server}/iss/")
    expect(page.get_by_role("heading", level=1, name="Contact ISS")).to_be_visible()
    page.get_by_role("button", name="Cymraeg").click()
    expect(page).to_have_url(f"{web_server}/iss/")
    expect(page.get_by_role("heading", level=1, name="Cysylltu gyda ISS")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "cy")
    expect(page.get_by_role("button", name="English")).to_be_visible()
    expect(page.get_by_text("All complaints are logged")).to_be_visible()
    assert_accessible(page)
    shot(page, "home")

    page.get_by_role("link", name="Gwneud cwyn").click()
    expect(page.get_by_role("heading", name="Dywedwch wrthym am eich cwyn")).to_be_visible()
    page.get_by_role("button", name="Parhau").click()
    expect(page.get_by_role("heading", name="Mae problem wedi codi")).to_be_visible()
    assert_accessible(page)
    shot(page, "form-errors")
    page.get_by_label("Mewn ychydig eiriau, beth yw'r mater?").fill("Mae'r llinell yn torri")
    page.get_by_label("Dywedwch wrthym beth ddigwyddodd").fill("Ers 3 Mawrth.")
    page.get_by_role("button", name="Parhau").click()
    expect(
        page.get_by_role("heading", name="Ydych chi'n gweithredu ar ran rhywun arall?")
    ).to_be_visible()
    expect(page.get_by_text("Cwestiwn 2 o 5")).to_be_visible()
    assert_accessible(page)
    shot(page, "form")

    page.goto(f"{web_server}{case_url}")
    expect(page.get_by_role("heading", name="Anfon neges atom")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "cy")
    assert_accessible(page)
    shot(page, "case")

    # And back to English, on the same page.
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(f"{web_server}{case_url}")
    expect(page.get_by_role("heading", name="Send us a message")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en-GB")
