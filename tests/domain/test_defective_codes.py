"""A table of defective codes and a table of good but unusual ones, each a mutation of the template.

Every defective row plants one defect in ``amends/codes/template.toml`` (which checks clean)
and states the EXACT set of ``(rule_id, severity)`` findings ``check_code`` must give for it:
nothing missing, nothing extra. The expectations were written from the specification of the
checks (the docstring table of :mod:`amends.domain.checks`, plus the changes below), before the
new checks existed:

* the rules applied are those in force on ``max(on, code.effective_from)``;
* phone numbers are classified with ``phonenumbers`` after stripping a Relay UK prefix
  (18001/18002): CH-003 for 084x/087x, 09, 070 and 055 numbers, also behind a relay prefix;
  CH-006 (warning) for a complaint number that is not a valid UK number; a +44 line beside a
  UK line for the same purposes is a line for callers abroad, not a CH-004 clash;
* PRM-002 (error) a first-contact promise of a complaint, or the update cadence, that may end
  after the ADR point; PRM-003 (warning) a first-contact promise that may end after the same
  kind's resolution target; PRM-004 (warning) two resolution targets of one kind that differ;
* TXT-001..TXT-004 (errors) and TXT-005 (warning): published free text that says ADR costs,
  gives a window other than 12 months, an ADR point later than the law, another approved
  scheme, or a former name of the code's scheme;
* a missing ``[adr]`` section hides nothing (ADR-001, 003, 007, 008, 009, 010), and a
  complaint channel with no value is no way to complain (CH-001/CH-002 plus CH-005);
* CH-003 is an error when the code serves consumers ("domestic", or customers not stated),
  a warning when it serves businesses only; SCP-001 (warning) when ``customers`` is absent;
* ESC-002 (warning) an escalation level marked ``truncated = true``.

The good table lists codes that look unusual but keep every rule: each must give no finding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import NamedTuple

import pytest

from amends.domain.checks import check_code
from amends.domain.codes import parse_code

TEMPLATE = Path(__file__).resolve().parents[2] / "amends" / "codes" / "template.toml"
TEMPLATE_TEXT = TEMPLATE.read_text(encoding="utf-8")

DEFAULT_ON = date(2026, 12, 1)
BEFORE_SIX_WEEKS = date(2026, 3, 1)

E, W = "error", "warning"

#: Every rule id the tables may expect: the existing ones and the new ones (a typo in a row
#: must not pass as "a finding nobody raises").
KNOWN_IDS = {
    "META-001",
    "META-002",
    "META-003",
    "CH-001",
    "CH-002",
    "CH-003",
    "CH-004",
    "CH-005",
    "CH-006",
    "ADR-001",
    "ADR-002",
    "ADR-003",
    "ADR-004",
    "ADR-005",
    "ADR-006",
    "ADR-007",
    "ADR-008",
    "ADR-009",
    "ADR-010",
    "RES-001",
    "PRM-001",
    "PRM-002",
    "PRM-003",
    "PRM-004",
    "CLO-001",
    "ESC-001",
    "ESC-002",
    "ACC-001",
    "TXT-001",
    "TXT-002",
    "TXT-003",
    "TXT-004",
    "TXT-005",
    "SCP-001",
}


# --------------------------------------------------------------------------- mutations


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace ``old`` (which must occur exactly ``count`` times) with ``new``; or, when
    ``old`` is None, append ``new`` as a block at the end of the file."""

    old: str | None
    new: str
    count: int = 1


def replace(old: str, new: str, count: int = 1) -> Edit:
    return Edit(old, new, count)


def remove(old: str, count: int = 1) -> Edit:
    return Edit(old, "", count)


def append(block: str) -> Edit:
    return Edit(None, block)


def _once(text: str, fragment: str) -> int:
    found = TEMPLATE_TEXT.count(fragment)
    assert found == 1, f"{fragment!r} occurs {found} times in template.toml, expected once"
    return TEMPLATE_TEXT.index(fragment)


def between(start: str, end: str) -> str:
    """The template's text from ``start`` up to (not including) ``end``."""
    first = _once(TEMPLATE_TEXT, start)
    last = _once(TEMPLATE_TEXT, end)
    assert first < last, f"{start!r} does not come before {end!r}"
    return TEMPLATE_TEXT[first:last]


def line(prefix: str) -> str:
    """The one template line that starts with ``prefix``, with its newline."""
    lines = [item for item in TEMPLATE_TEXT.splitlines(keepends=True) if item.startswith(prefix)]
    assert len(lines) == 1, f"{len(lines)} template lines start with {prefix!r}, expected one"
    return lines[0]


def mutated(edits: tuple[Edit, ...]) -> str:
    """The template's text with every edit applied, each one checked to have matched."""
    text = TEMPLATE_TEXT
    for edit in edits:
        if edit.old is None:
            text = text.rstrip("\n") + "\n\n" + edit.new.strip("\n") + "\n"
            continue
        found = text.count(edit.old)
        assert found == edit.count, (
            f"{edit.old!r} occurs {found} times, expected {edit.count}: the mutation no longer "
            "matches template.toml"
        )
        text = text.replace(edit.old, edit.new)
    assert text != TEMPLATE_TEXT, "the mutation left template.toml unchanged"
    return text


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def table(header: str, **keys: object) -> Edit:
    """Append ``[[header]]`` with the keys given (str, bool or list of str)."""
    body = "".join(f"{key} = {_toml(value)}\n" for key, value in keys.items())
    return append(f"[[{header}]]\n{body}")


def set_line(prefix: str, new: str) -> Edit:
    """Replace the whole template line starting with ``prefix`` by ``new`` (a line, or '')."""
    return replace(line(prefix), new + "\n" if new else "")


# --------------------------------------------------------------------------- named pieces

PHONE = 'value = "0808 157 0123"\n'
TEXTPHONE = 'value = "18001 0808 157 0123"\n'
PHONE_PURPOSES = 'purposes = ["complaints", "customer_services", "sales"]\n'
TEXTPHONE_PURPOSES = TEXTPHONE + 'purposes = ["complaints", "customer_services"]\n'
POST_VALUE = line('value = ["Complaints Team"')
POST_PURPOSES = POST_VALUE + 'purposes = ["complaints", "customer_services"]\n'
EMAIL_COMPLAINTS = between(
    '[[channels]]\ntype = "email"\nlabel = "Complaints"',
    '[[channels]]\ntype = "web_form"\nlabel = "Complaints form"',
)
WEB_COMPLAINTS = between(
    '[[channels]]\ntype = "web_form"\nlabel = "Complaints form"', '[[channels]]\ntype = "post"'
)
ALL_CHANNELS = between('[[channels]]\ntype = "phone"', "[intake]\n")
ESCALATION = between('[[escalation]]\nrole = "Complaints Manager"', "[closure]\n")
CLOSURE = between("[closure]\n", "[adr]\n")
ADR = between("[adr]\n", "[compensation]\n")
ADR_CONTACTS = between('[[adr.contacts]]\ntype = "post"', "[compensation]\n")
ACCESSIBILITY = between("[accessibility]\n", "[comments]\n")


def phone(number: str) -> Edit:
    """The template's complaint phone line (0808) on another number."""
    return replace(PHONE, f"value = {_toml(number)}\n")


def textphone(number: str) -> Edit:
    return replace(TEXTPHONE, f"value = {_toml(number)}\n")


def customers(*kinds: str) -> Edit:
    return set_line("customers = ", f"customers = {_toml(list(kinds))}")


def effective(day: str) -> Edit:
    return set_line("effective_from = ", f"effective_from = {day}")


def adr_after(duration: str) -> Edit:
    return set_line("after = ", f"after = {_toml(duration)}")


def adr_flag(key: str, value: bool) -> Edit:
    return set_line(f"{key} = ", f"{key} = {_toml(value)}")


def adr_detail(text: str) -> Edit:
    """Give the [adr] section a published ``detail`` sentence."""
    return replace("letter_unasked = true\n", f"letter_unasked = true\ndetail = {_toml(text)}\n")


def scheme(name: str) -> Edit:
    return set_line("scheme = ", f"scheme = {_toml(name)}")


ACKNOWLEDGE = 'kind = "acknowledge"\nwithin = "1 working day"\ndetail'
INTRODUCE = 'kind = "introduce_handler"\nwithin = "2 working days"\n'
RESOLVE = 'kind = "resolve"\nwithin = "10 working days"\n'


def acknowledge(within: str | None) -> Edit:
    """The complaint acknowledgement (1 working day) within another time, or none."""
    timing = f"within = {_toml(within)}\n" if within else ""
    return replace(ACKNOWLEDGE, f'kind = "acknowledge"\n{timing}detail')


def introduce_handler(within: str) -> Edit:
    return replace(INTRODUCE, f'kind = "introduce_handler"\nwithin = {_toml(within)}\n')


def resolve(within: str) -> Edit:
    """The complaint resolution target (10 working days) changed."""
    return replace(RESOLVE, f'kind = "resolve"\nwithin = {_toml(within)}\n')


def complaint_promise(kind: str, **keys: str) -> Edit:
    return table("case_kinds.complaint.promises", kind=kind, **keys)


def fax_for_complaints(number: str) -> Edit:
    return table("channels", type="fax", label="Fax", value=number, purposes=["complaints"])


CISAS_CONTACTS = """\
[[adr.contacts]]
type = "post"
value = ["CISAS", "100 St Paul's Churchyard", "London", "EC4M 8BU"]

[[adr.contacts]]
type = "phone"
value = "020 7520 3827"

[[adr.contacts]]
type = "email"
value = "cisas@cedr.com"

[[adr.contacts]]
type = "website"
value = "https://www.cisas.co.uk"

"""

#: A CISAS member: the scheme and CISAS's registry contacts (all tagged V or S; ADR-005 compares
#: each with the registry, ADR-006 rejects a kind the registry does not list).
CISAS: tuple[Edit, ...] = (scheme("CISAS"), replace(ADR_CONTACTS, CISAS_CONTACTS))

# --------------------------------------------------------------------------- the tables


class Row(NamedTuple):
    id: str
    description: str
    edits: tuple[Edit, ...]
    expected: frozenset[tuple[str, str]]
    on: date = DEFAULT_ON


def row(
    id: str,
    description: str,
    edits: tuple[Edit, ...] | Edit,
    expected: set[tuple[str, str]],
    on: date = DEFAULT_ON,
) -> Row:
    as_tuple = edits if isinstance(edits, tuple) else (edits,)
    return Row(id, description, as_tuple, frozenset(expected), on)


NO_ADR_SECTION = {
    ("ADR-001", E),
    ("ADR-003", E),
    ("ADR-007", E),
    ("ADR-008", E),
    ("ADR-009", W),
    ("ADR-010", W),
}

DEFECTIVE: list[Row] = [
    # ------------------------------------------------------------------ META
    row("META-001-no-version", "no version", remove(line("version = ")), {("META-001", W)}),
    row(
        "META-002-no-effective-date",
        "no effective date",
        remove(line("effective_from = ")),
        {("META-002", W)},
    ),
    row(
        "META-002-no-effective-date-before-six-weeks",
        "no effective date, checked before 8 April 2026 (the rules of the check date apply)",
        remove(line("effective_from = ")),
        {("META-002", W)},
        BEFORE_SIX_WEEKS,
    ),
    row(
        "META-003-gc-14-4",
        'quotes "GC 14.4"',
        set_line("references = ", 'references = ["GC 14.4"]'),
        {("META-003", W)},
    ),
    row(
        "META-003-general-condition-14",
        'quotes "General Condition 14" beside C4',
        set_line("references = ", 'references = ["General Condition C4", "General Condition 14"]'),
        {("META-003", W)},
    ),
    row(
        "META-003-gc14-no-space",
        'quotes "GC14"',
        set_line("references = ", 'references = ["GC14"]'),
        {("META-003", W)},
    ),
    # ------------------------------------------------------------------ CH-001
    row(
        "CH-001-no-complaints-purpose",
        'no channel has the purpose "complaints"',
        (
            replace(PHONE_PURPOSES, 'purposes = ["customer_services", "sales"]\n'),
            replace(
                'purposes = ["complaints", "customer_services"]\n',
                'purposes = ["customer_services"]\n',
                count=2,
            ),
            remove(EMAIL_COMPLAINTS),
            remove(WEB_COMPLAINTS),
        ),
        {("CH-001", E)},
    ),
    row("CH-001-no-channels", "no channels at all", remove(ALL_CHANNELS), {("CH-001", E)}),
    row(
        "CH-001-only-valueless-complaint-channels",
        "every complaint channel lacks its number, address or link (none is a way to complain)",
        (
            remove(PHONE),
            remove(TEXTPHONE),
            remove('value = "complaints@example.com"\n'),
            remove('value = "https://www.example.com/complaints"\n'),
            remove(POST_VALUE),
        ),
        {("CH-001", E), ("CH-005", W)},
    ),
    # ------------------------------------------------------------------ CH-002
    row(
        "CH-002-no-post",
        "no postal complaint channel",
        replace(POST_PURPOSES, POST_VALUE + 'purposes = ["customer_services"]\n'),
        {("CH-002", W)},
    ),
    row(
        "CH-002-no-online",
        "no email or web form complaint channel",
        (remove(EMAIL_COMPLAINTS), remove(WEB_COMPLAINTS)),
        {("CH-002", W)},
    ),
    row(
        "CH-002-no-voice",
        "no phone or textphone complaint channel",
        (
            replace(PHONE_PURPOSES, 'purposes = ["customer_services", "sales"]\n'),
            replace(TEXTPHONE_PURPOSES, TEXTPHONE + 'purposes = ["customer_services"]\n'),
        ),
        {("CH-002", W)},
    ),
    row(
        "CH-002-online-channels-valueless",
        "the only complaint email and web form have no address or link",
        (
            remove('value = "complaints@example.com"\n'),
            remove('value = "https://www.example.com/complaints"\n'),
        ),
        {("CH-002", W), ("CH-005", W)},
    ),
    row(
        "CH-002-post-channel-valueless",
        "the only postal complaint channel has no address",
        remove(POST_VALUE),
        {("CH-002", W), ("CH-005", W)},
    ),
    row(
        "CH-002-voice-channels-valueless",
        "the complaint phone and textphone have no numbers",
        (remove(PHONE), remove(TEXTPHONE)),
        {("CH-002", W), ("CH-005", W)},
    ),
    # ------------------------------------------------------------------ CH-003 (consumers)
    row("CH-003-0845-phone", "complaint line on 0845", phone("0845 600 1234"), {("CH-003", E)}),
    row("CH-003-0871-phone", "complaint line on 0871", phone("0871 222 3333"), {("CH-003", E)}),
    row("CH-003-0909-phone", "complaint line on 09", phone("0909 879 0123"), {("CH-003", E)}),
    row(
        "CH-003-0845-international-format",
        "complaint line on 0845 written +44 845",
        phone("+44 845 600 1234"),
        {("CH-003", E)},
    ),
    row(
        "CH-003-0870-fax",
        "complaint fax on 0870",
        fax_for_complaints("0870 010 0123"),
        {("CH-003", E)},
    ),
    row(
        "CH-003-0845-textphone",
        "complaint textphone on 0845 (no relay prefix)",
        textphone("0845 600 1234"),
        {("CH-003", E)},
    ),
    row(
        "CH-003-relay-18001-0845",
        "complaint textphone on 0845 behind the 18001 relay prefix",
        textphone("18001 0845 600 1234"),
        {("CH-003", E)},
    ),
    row(
        "CH-003-relay-18002-0870",
        "complaint textphone on 0870 behind the 18002 relay prefix",
        textphone("18002 0870 010 0123"),
        {("CH-003", E)},
    ),
    row(
        "CH-003-070-personal-number",
        "complaint line on a 070 personal number",
        phone("070 1234 5678"),
        {("CH-003", E)},
    ),
    row(
        "CH-003-055-corporate-number",
        "complaint line on a 055 corporate number",
        phone("055 1234 5678"),
        {("CH-003", E)},
    ),
    row(
        "CH-003-070-fax",
        "complaint fax on a 070 personal number",
        fax_for_complaints("0701 234 5678"),
        {("CH-003", E)},
    ),
    # ------------------------------------------------------------------ scope (CH-003 severity)
    row(
        "SCOPE-small-business-only-0845",
        "business-only code (small_business) with an 0845 complaint line",
        (customers("small_business"), phone("0845 600 1234")),
        {("CH-003", W)},
    ),
    row(
        "SCOPE-other-business-only-0909",
        "business-only code (other_business) with an 09 complaint line",
        (customers("other_business"), phone("0909 879 0123")),
        {("CH-003", W)},
    ),
    row(
        "SCOPE-businesses-only-relay-0845",
        "business-only code with an 0845 textphone behind 18001",
        (customers("small_business", "other_business"), textphone("18001 0845 600 1234")),
        {("CH-003", W)},
    ),
    row(
        "SCOPE-domestic-only-0871",
        "consumer-only code with an 0871 complaint line",
        (customers("domestic"), phone("0871 222 3333")),
        {("CH-003", E)},
    ),
    row(
        "SCOPE-customers-unstated-0845",
        "customers not stated (read as consumers) and an 0845 complaint line: two defects",
        (remove(line("customers = ")), phone("0845 600 1234")),
        {("CH-003", E), ("SCP-001", W)},
    ),
    # ------------------------------------------------------------------ SCP-001
    row(
        "SCP-001-no-customers",
        "[provider] does not say which customers it serves",
        remove(line("customers = ")),
        {("SCP-001", W)},
    ),
    row(
        "SCP-001-no-customers-cisas",
        "a CISAS member that does not say which customers it serves",
        (*CISAS, remove(line("customers = "))),
        {("SCP-001", W)},
    ),
    row(
        "SCP-001-no-customers-scotland",
        "a Scottish provider that does not say which customers it serves",
        (set_line("nation = ", 'nation = "scotland"'), remove(line("customers = "))),
        {("SCP-001", W)},
    ),
    # ------------------------------------------------------------------ CH-004
    row(
        "CH-004-second-complaints-email",
        "a second, different complaints email",
        table("channels", type="email", value="grievances@example.com", purposes=["complaints"]),
        {("CH-004", E)},
    ),
    row(
        "CH-004-second-freephone",
        "a second, different complaints freephone for the same audience",
        table("channels", type="phone", value="0808 157 0456", purposes=["complaints"]),
        {("CH-004", E)},
    ),
    row(
        "CH-004-second-post-address",
        "a second, different postal address for complaints",
        table(
            "channels",
            type="post",
            value=["Complaints", "Example Telecom Ltd", "2 Other Street", "Exampletown", "EX1 1AB"],
            purposes=["complaints"],
        ),
        {("CH-004", E)},
    ),
    row(
        "CH-004-second-web-form",
        "a second, different complaints web form",
        table(
            "channels",
            type="web_form",
            value="https://www.example.com/complain",
            purposes=["complaints"],
        ),
        {("CH-004", E)},
    ),
    # ------------------------------------------------------------------ CH-005
    row(
        "CH-005-textphone-no-number",
        "the textphone has no number (the phone still gives a voice channel)",
        remove(TEXTPHONE),
        {("CH-005", W)},
    ),
    row(
        "CH-005-abuse-email-no-address",
        "the abuse email has no address",
        remove('value = "abuse@example.com"\n'),
        {("CH-005", W)},
    ),
    row(
        "CH-005-support-form-no-link",
        "the support web form has no link",
        remove('value = "https://www.example.com/support"\n'),
        {("CH-005", W)},
    ),
    # ------------------------------------------------------------------ CH-006
    row(
        "CH-006-0500-phone",
        "complaint line on a withdrawn 0500 number",
        phone("0500 123456"),
        {("CH-006", W)},
    ),
    row("CH-006-short-phone", "complaint line too short (01234)", phone("01234"), {("CH-006", W)}),
    row(
        "CH-006-relay-short-textphone",
        "complaint textphone too short behind the relay prefix",
        textphone("18001 01234"),
        {("CH-006", W)},
    ),
    row(
        "CH-006-short-fax",
        "complaint fax number cut short",
        fax_for_complaints("020 7946"),
        {("CH-006", W)},
    ),
    # ------------------------------------------------------------------ ADR-001
    row("ADR-001-eight-weeks", "ADR after 8 weeks", adr_after("8 weeks"), {("ADR-001", E)}),
    row("ADR-001-43-days", "ADR after 43 days", adr_after("43 days"), {("ADR-001", E)}),
    row(
        "ADR-001-30-working-days",
        "ADR after 30 working days (may exceed 6 weeks)",
        adr_after("30 working days"),
        {("ADR-001", E)},
    ),
    row("ADR-001-not-stated", "no ADR point", remove(line("after = ")), {("ADR-001", E)}),
    # ------------------------------------------------------------------ effective date
    row(
        "EFF-future-code-8-weeks-checked-early",
        "effective 2026-06-01 with 8 weeks, checked 2026-03-01: the 6-week rule applies",
        (effective("2026-06-01"), adr_after("8 weeks")),
        {("ADR-001", E)},
        BEFORE_SIX_WEEKS,
    ),
    row(
        "EFF-effective-8-april-8-weeks-checked-early",
        "effective 2026-04-08 with 8 weeks, checked 2026-03-01: the 6-week rule applies",
        adr_after("8 weeks"),
        {("ADR-001", E)},
        BEFORE_SIX_WEEKS,
    ),
    row(
        "EFF-future-code-7-weeks-checked-early",
        "effective 2026-05-01 with 7 weeks, checked 2026-01-15: the 6-week rule applies",
        (effective("2026-05-01"), adr_after("7 weeks")),
        {("ADR-001", E)},
        date(2026, 1, 15),
    ),
    row(
        "EFF-old-code-8-weeks-checked-early",
        "effective 2025-01-01 with 8 weeks, checked 2026-03-01: late from 8 April",
        (effective("2025-01-01"), adr_after("8 weeks")),
        {("ADR-002", W)},
        BEFORE_SIX_WEEKS,
    ),
    row(
        "EFF-old-code-8-weeks-checked-late",
        "effective 2025-01-01 with 8 weeks, checked 2026-12-01: late now",
        (effective("2025-01-01"), adr_after("8 weeks")),
        {("ADR-001", E)},
    ),
    # ------------------------------------------------------------------ ADR-002
    row(
        "ADR-002-7-weeks-old-code",
        "effective 2025-01-01 with 7 weeks, checked 2026-03-01",
        (effective("2025-01-01"), adr_after("7 weeks")),
        {("ADR-002", W)},
        BEFORE_SIX_WEEKS,
    ),
    row(
        "ADR-002-56-days-day-before",
        "effective 2024-06-01 with 56 days, checked 2026-04-07",
        (effective("2024-06-01"), adr_after("56 days")),
        {("ADR-002", W)},
        date(2026, 4, 7),
    ),
    row(
        "ADR-002-50-days-2025",
        "effective 2020-01-01 with 50 days, checked 2025-06-01",
        (effective("2020-01-01"), adr_after("50 days")),
        {("ADR-002", W)},
        date(2025, 6, 1),
    ),
    # ------------------------------------------------------------------ ADR-003
    row("ADR-003-ofcom", "names Ofcom as the ADR body", scheme("Ofcom"), {("ADR-003", E)}),
    row(
        "ADR-003-financial-ombudsman",
        "names the Financial Ombudsman Service",
        scheme("Financial Ombudsman Service"),
        {("ADR-003", E)},
    ),
    row(
        "ADR-003-unknown-body",
        "names an unknown body",
        scheme("Telecoms Arbitration Service"),
        {("ADR-003", E)},
    ),
    row("ADR-003-no-scheme", "names no scheme", remove(line("scheme = ")), {("ADR-003", E)}),
    # ------------------------------------------------------------------ ADR-004
    row(
        "ADR-004-ombudsman-services",
        'scheme "Ombudsman Services"',
        scheme("Ombudsman Services"),
        {("ADR-004", W)},
    ),
    row(
        "ADR-004-ombudsman-services-communications",
        'scheme "Ombudsman Services: Communications"',
        scheme("Ombudsman Services: Communications"),
        {("ADR-004", W)},
    ),
    row("ADR-004-otelo", 'scheme "Otelo"', scheme("Otelo"), {("ADR-004", W)}),
    # ------------------------------------------------------------------ ADR-005
    row(
        "ADR-005-wrong-phone",
        "the scheme's phone number one digit out",
        replace('value = "0330 440 1614"\n', 'value = "0330 440 1615"\n'),
        {("ADR-005", E)},
    ),
    row(
        "ADR-005-post-without-postcode",
        "the scheme's address without its postcode",
        replace(', "Warrington", "WA4 6WU"]', ', "Warrington"]'),
        {("ADR-005", E)},
    ),
    row(
        "ADR-005-old-website",
        "the scheme's former website",
        replace(
            'value = "https://www.commsombudsman.org"\n',
            'value = "https://www.ombudsman-services.org"\n',
        ),
        {("ADR-005", E)},
    ),
    row(
        "ADR-005-wrong-email",
        "an email address the scheme does not use",
        table("adr.contacts", type="email", value="enquiries@commsombudsman.org"),
        {("ADR-005", E)},
    ),
    # ------------------------------------------------------------------ ADR-006
    row(
        "ADR-006-fax-communications-ombudsman",
        "a fax for the Communications Ombudsman",
        table("adr.contacts", type="fax", value="0330 440 1615"),
        {("ADR-006", W)},
    ),
    row(
        "ADR-006-textphone-cisas",
        "a textphone for CISAS, which lists none",
        (*CISAS, table("adr.contacts", type="textphone", value="18001 020 7520 3827")),
        {("ADR-006", W)},
    ),
    row(
        "ADR-006-fax-cisas",
        "a fax for CISAS, which lists none",
        (*CISAS, table("adr.contacts", type="fax", value="020 7520 3828")),
        {("ADR-006", W)},
    ),
    # ------------------------------------------------------------------ ADR-007..ADR-010
    row(
        "ADR-007-states-free-false",
        "does not say ADR is free",
        adr_flag("states_free", False),
        {("ADR-007", E)},
    ),
    row(
        "ADR-007-states-free-absent",
        "states_free left out",
        remove(line("states_free = ")),
        {("ADR-007", E)},
    ),
    row(
        "ADR-007-cisas-states-free-absent",
        "a CISAS member that does not say ADR is free",
        (*CISAS, remove(line("states_free = "))),
        {("ADR-007", E)},
    ),
    row(
        "ADR-008-deadlock-false",
        "no deadlock route",
        adr_flag("deadlock_route", False),
        {("ADR-008", E)},
    ),
    row(
        "ADR-008-deadlock-absent",
        "deadlock_route left out",
        remove(line("deadlock_route = ")),
        {("ADR-008", E)},
    ),
    row(
        "ADR-008-cisas-deadlock-absent",
        "a CISAS member with no deadlock route",
        (*CISAS, remove(line("deadlock_route = "))),
        {("ADR-008", E)},
    ),
    row(
        "ADR-009-time-limit-false",
        "does not give the 12 months",
        adr_flag("states_time_limit", False),
        {("ADR-009", W)},
    ),
    row(
        "ADR-009-time-limit-absent",
        "states_time_limit left out",
        remove(line("states_time_limit = ")),
        {("ADR-009", W)},
    ),
    row(
        "ADR-009-cisas-time-limit-absent",
        "a CISAS member that does not give the 12 months",
        (*CISAS, remove(line("states_time_limit = "))),
        {("ADR-009", W)},
    ),
    row(
        "ADR-010-letter-unasked-false",
        "does not promise the ADR letter unasked",
        adr_flag("letter_unasked", False),
        {("ADR-010", W)},
    ),
    row(
        "ADR-010-letter-unasked-absent",
        "letter_unasked left out",
        remove(line("letter_unasked = ")),
        {("ADR-010", W)},
    ),
    row(
        "ADR-010-cisas-letter-unasked-absent",
        "a CISAS member that does not promise the ADR letter unasked",
        (*CISAS, remove(line("letter_unasked = "))),
        {("ADR-010", W)},
    ),
    # ------------------------------------------------------------------ missing [adr]
    row(
        "NOADR-no-adr-section",
        "no [adr] section at all",
        remove(ADR),
        NO_ADR_SECTION,
    ),
    row(
        "NOADR-no-adr-section-old-code-checked-early",
        "no [adr] section, effective 2025-01-01, checked 2026-03-01",
        (effective("2025-01-01"), remove(ADR)),
        NO_ADR_SECTION,
        BEFORE_SIX_WEEKS,
    ),
    row(
        "NOADR-empty-adr-section",
        "an [adr] section with nothing in it (must report as no section does)",
        replace(ADR, "[adr]\n\n"),
        NO_ADR_SECTION,
    ),
    # ------------------------------------------------------------------ RES-001
    row(
        "RES-001-resolve-7-weeks",
        "resolve within 7 weeks",
        resolve("7 weeks"),
        {("RES-001", W)},
    ),
    row(
        "RES-001-resolve-30-working-days",
        "resolve within 30 working days (may exceed 6 weeks)",
        resolve("30 working days"),
        {("RES-001", W)},
    ),
    row(
        "RES-001-director-review-45-days",
        "the director's review within 45 days",
        replace('review_within = "10 working days"\n', 'review_within = "45 days"\n'),
        {("RES-001", W)},
    ),
    row(
        "RES-001-past-stricter-adr-point",
        "ADR after 4 weeks (stricter than the law) but resolve within 25 working days",
        (
            adr_after("4 weeks"),
            resolve("25 working days"),
        ),
        {("RES-001", W)},
    ),
    # ------------------------------------------------------------------ PRM-001
    row(
        "PRM-001-acknowledge-untimed",
        "the complaint acknowledgement has no time",
        acknowledge(None),
        {("PRM-001", W)},
    ),
    row(
        "PRM-001-support-response-untimed",
        "the support request first response has no time",
        remove('within = "8 working hours"\n'),
        {("PRM-001", W)},
    ),
    row(
        "PRM-001-update-untimed",
        "the complaint update promise has no cadence",
        remove('every = "5 working days"\n'),
        {("PRM-001", W)},
    ),
    # ------------------------------------------------------------------ PRM-002
    row(
        "PRM-002-update-every-8-weeks",
        "updates every 8 weeks (past the ADR point)",
        replace('every = "5 working days"\n', 'every = "8 weeks"\n'),
        {("PRM-002", E)},
    ),
    row(
        "PRM-002-update-every-45-days",
        "updates every 45 days (past the ADR point)",
        replace('every = "5 working days"\n', 'every = "45 days"\n'),
        {("PRM-002", E)},
    ),
    row(
        "PRM-002-update-past-stricter-adr-point",
        "ADR after 4 weeks (stricter than the law) but updates every 5 weeks",
        (adr_after("4 weeks"), replace('every = "5 working days"\n', 'every = "5 weeks"\n')),
        {("PRM-002", E)},
    ),
    row(
        "PRM-002-acknowledge-30-working-days",
        "acknowledge within 30 working days: past the ADR point and past the 10-day resolution",
        acknowledge("30 working days"),
        {("PRM-002", E), ("PRM-003", W)},
    ),
    # ------------------------------------------------------------------ PRM-003
    row(
        "PRM-003-acknowledge-12-working-days",
        "acknowledge within 12 working days, resolve within 10 (under 6 weeks)",
        acknowledge("12 working days"),
        {("PRM-003", W)},
    ),
    row(
        "PRM-003-introduce-handler-15-working-days",
        "introduce the handler within 15 working days, resolve within 10",
        introduce_handler("15 working days"),
        {("PRM-003", W)},
    ),
    row(
        "PRM-003-acknowledge-3-weeks",
        "acknowledge within 3 weeks, which may end after the 10-working-day resolution",
        acknowledge("3 weeks"),
        {("PRM-003", W)},
    ),
    row(
        "PRM-003-account-query-response-after-resolution",
        "account query: first response within 2 working days, resolve within 4 working hours",
        table("case_kinds.account_query.promises", kind="resolve", within="4 working hours"),
        {("PRM-003", W)},
    ),
    # ------------------------------------------------------------------ PRM-004
    row(
        "PRM-004-second-resolve-20-working-days",
        "a second complaint resolution target of 20 working days beside 10",
        complaint_promise("resolve", within="20 working days"),
        {("PRM-004", W)},
    ),
    row(
        "PRM-004-second-resolve-3-weeks",
        "a second complaint resolution target of 3 weeks beside 10 working days",
        complaint_promise("resolve", within="3 weeks"),
        {("PRM-004", W)},
    ),
    row(
        "PRM-004-account-query-two-targets",
        "account query resolved within 5 and within 10 working days",
        (
            table("case_kinds.account_query.promises", kind="resolve", within="5 working days"),
            table("case_kinds.account_query.promises", kind="resolve", within="10 working days"),
        ),
        {("PRM-004", W)},
    ),
    # ------------------------------------------------------------------ CLO-001
    row(
        "CLO-001-confirmation-false",
        "closure does not need the customer's agreement",
        set_line("requires_customer_confirmation = ", "requires_customer_confirmation = false"),
        {("CLO-001", W)},
    ),
    row(
        "CLO-001-confirmation-absent",
        "requires_customer_confirmation left out",
        remove(line("requires_customer_confirmation = ")),
        {("CLO-001", W)},
    ),
    row("CLO-001-no-closure-section", "no [closure] section", remove(CLOSURE), {("CLO-001", W)}),
    # ------------------------------------------------------------------ ESC-001
    row("ESC-001-no-escalation", "no escalation levels", remove(ESCALATION), {("ESC-001", W)}),
    row(
        "ESC-001-cisas-no-escalation",
        "a CISAS member with no escalation levels",
        (*CISAS, remove(ESCALATION)),
        {("ESC-001", W)},
    ),
    # ------------------------------------------------------------------ ESC-002
    row(
        "ESC-002-first-level-truncated",
        "the first level's role title marked truncated",
        replace('role = "Complaints Manager"\n', 'role = "Complaints Manager"\ntruncated = true\n'),
        {("ESC-002", W)},
    ),
    row(
        "ESC-002-second-level-truncated",
        "the second level's role title marked truncated",
        replace(
            'role = "Customer Services Director"\n',
            'role = "Customer Services Dir"\ntruncated = true\n',
        ),
        {("ESC-002", W)},
    ),
    row(
        "ESC-002-third-level-truncated",
        "an added third level whose role title is marked truncated",
        table(
            "escalation",
            role="Chief Executive Offi",
            truncated=True,
            trigger="If you are still not happy after the Director's review.",
            review_within="5 working days",
        ),
        {("ESC-002", W)},
    ),
    # ------------------------------------------------------------------ ACC-001
    row(
        "ACC-001-no-accessibility-section",
        "no [accessibility] section",
        remove(ACCESSIBILITY),
        {("ACC-001", W)},
    ),
    row(
        "ACC-001-empty-accessibility",
        "no accessibility statement and no formats",
        (remove(line("statement = ")), set_line("formats = ", "formats = []")),
        {("ACC-001", W)},
    ),
    # ------------------------------------------------------------------ TXT-001
    row(
        "TXT-001-fee-applies",
        'ADR detail: "a fee of £50 applies to ADR"',
        adr_detail("A fee of £50 applies to ADR."),
        {("TXT-001", E)},
    ),
    row(
        "TXT-001-ombudsman-charges",
        'ADR detail: "the ombudsman charges a fee"',
        adr_detail("Please note that the ombudsman charges a fee for looking at your complaint."),
        {("TXT-001", E)},
    ),
    row(
        "TXT-001-closure-detail-fee",
        "closure detail says the customer pays to go to the scheme",
        set_line(
            'detail = "Re-opening',
            'detail = "If you take your complaint to the Communications Ombudsman, you will have '
            'to pay an administration fee of £25."',
        ),
        {("TXT-001", E)},
    ),
    # ------------------------------------------------------------------ TXT-002
    row(
        "TXT-002-six-months-digits",
        'ADR detail: "within 6 months of our letter"',
        adr_detail("You must go to the Communications Ombudsman within 6 months of our letter."),
        {("TXT-002", E)},
    ),
    row(
        "TXT-002-six-months-words",
        'ADR detail: "six months" to refer',
        adr_detail("You have six months from the date of our ADR letter to refer your complaint."),
        {("TXT-002", E)},
    ),
    row(
        "TXT-002-three-months-closure",
        "closure detail gives 3 months to go to ADR",
        set_line(
            'detail = "Re-opening',
            'detail = "If we cannot agree, you have 3 months from our final letter to take your '
            'complaint to the Communications Ombudsman."',
        ),
        {("TXT-002", E)},
    ),
    # ------------------------------------------------------------------ TXT-003
    row(
        "TXT-003-after-8-weeks",
        'ADR detail: "after 8 weeks" when 6 weeks apply',
        adr_detail(
            "If your complaint is not resolved after 8 weeks, you can take it to the "
            "Communications Ombudsman."
        ),
        {("TXT-003", E)},
    ),
    row(
        "TXT-003-eight-weeks-words",
        'ADR detail: "eight weeks" when 6 weeks apply',
        adr_detail("You can go to the Communications Ombudsman after eight weeks."),
        {("TXT-003", E)},
    ),
    row(
        "TXT-003-closure-10-weeks",
        "closure detail gives an ADR point of 10 weeks",
        set_line(
            'detail = "Re-opening',
            'detail = "A complaint still open after 10 weeks can be taken to the Communications '
            'Ombudsman."',
        ),
        {("TXT-003", E)},
    ),
    # ------------------------------------------------------------------ TXT-004
    row(
        "TXT-004-cisas-in-ombudsman-code",
        'ADR detail names "CISAS" when the scheme is the Communications Ombudsman',
        adr_detail("You can also contact CISAS about your complaint."),
        {("TXT-004", E)},
    ),
    row(
        "TXT-004-ombudsman-in-cisas-code",
        "a CISAS member whose ADR detail names the Communications Ombudsman",
        (*CISAS, adr_detail("You can take your complaint to the Communications Ombudsman.")),
        {("TXT-004", E)},
    ),
    row(
        "TXT-004-cisas-full-name-in-comments",
        "comments detail names CISAS in full when the scheme is the Communications Ombudsman",
        set_line(
            'detail = "We review',
            'detail = "Send comments on this code to us, or to the Communications and Internet '
            'Services Adjudication Scheme."',
        ),
        {("TXT-004", E)},
    ),
    # ------------------------------------------------------------------ TXT-005
    row(
        "TXT-005-ombudsman-services-adr-detail",
        'ADR detail calls the scheme "Ombudsman Services"',
        adr_detail("Ombudsman Services can look at your complaint independently."),
        {("TXT-005", W)},
    ),
    row(
        "TXT-005-former-name-closure",
        'closure detail calls the scheme "Ombudsman Services: Communications"',
        set_line(
            'detail = "Re-opening',
            'detail = "Re-opening a complaint does not stop you going to Ombudsman Services: '
            'Communications."',
        ),
        {("TXT-005", W)},
    ),
    row(
        "TXT-005-otelo-escalation-trigger",
        'escalation trigger calls the scheme "Otelo"',
        set_line(
            'trigger = "If you are still',
            "trigger = \"If you are still not happy after the Complaints Manager's review, or "
            'before you go to Otelo."',
        ),
        {("TXT-005", W)},
    ),
]


GOOD: list[Row] = [
    row(
        "GOOD-scotland",
        "a Scottish provider",
        set_line("nation = ", 'nation = "scotland"'),
        set(),
    ),
    row(
        "GOOD-northern-ireland",
        "a Northern Ireland provider with a Belfast (028) complaint line",
        (set_line("nation = ", 'nation = "northern-ireland"'), phone("028 9649 6123")),
        set(),
    ),
    row(
        "GOOD-saturday-opening",
        "open Monday to Saturday, phone lines too",
        (
            set_line("days = ", 'days = ["mon", "tue", "wed", "thu", "fri", "sat"]'),
            replace(
                'hours = { days = "mon-fri", opens = "09:00", closes = "17:30" }\n',
                'hours = { days = "mon-sat", opens = "09:00", closes = "17:30" }\n',
                count=2,
            ),
        ),
        set(),
    ),
    row("GOOD-cisas-member", "a CISAS member with CISAS's registry contacts", CISAS, set()),
    row(
        "GOOD-stricter-than-law",
        "ADR letter after 4 weeks and acknowledgement within 4 working hours",
        (
            adr_after("4 weeks"),
            acknowledge("4 working hours"),
        ),
        set(),
    ),
    row(
        "GOOD-line-for-callers-abroad",
        "a +44 geographic line for callers abroad beside the 0808 freephone, same purposes",
        table(
            "channels",
            type="phone",
            label="From abroad",
            value="+44 20 7946 0123",
            purposes=["complaints", "customer_services", "sales"],
            notes="For calls from outside the UK.",
        ),
        set(),
    ),
    row(
        "GOOD-business-only",
        "a code for small businesses only",
        customers("small_business"),
        set(),
    ),
    row(
        "GOOD-adr-text-free-and-12-months",
        'ADR detail says "free of charge", "at no cost to you", 6 weeks and 12 months',
        adr_detail(
            "Going to the Communications Ombudsman is free of charge, at no cost to you. You can "
            "refer your complaint to them after 6 weeks, or straight away if we tell you we "
            "cannot resolve it, and you have 12 months from the date of our ADR letter to do so."
        ),
        set(),
    ),
    row(
        "GOOD-03-complaint-line",
        "a complaint line on an 03 number (basic rate, not a 055 corporate number)",
        phone("0306 999 0123"),
        set(),
    ),
    row(
        "GOOD-relay-18002",
        "the textphone written with the 18002 relay prefix",
        textphone("18002 0808 157 0123"),
        set(),
    ),
    row(
        "GOOD-future-code-checked-early",
        "effective 2026-06-01 with 6 weeks, checked 2026-03-01",
        effective("2026-06-01"),
        set(),
        BEFORE_SIX_WEEKS,
    ),
    row(
        "GOOD-escalation-not-truncated",
        "an escalation level marked truncated = false",
        replace(
            'role = "Complaints Manager"\n', 'role = "Complaints Manager"\ntruncated = false\n'
        ),
        set(),
    ),
]


# --------------------------------------------------------------------------- the tests


def findings(case: Row) -> set[tuple[str, str]]:
    code = parse_code(mutated(case.edits), filename=f"{case.id}.toml")
    return {(f.rule_id, f.severity.value) for f in check_code(code, on=case.on)}


def test_the_template_itself_is_clean() -> None:
    code = parse_code(TEMPLATE_TEXT, filename="template.toml")
    assert check_code(code, on=DEFAULT_ON) == ()


def test_the_tables_are_well_formed() -> None:
    rows = DEFECTIVE + GOOD
    assert len({case.id for case in rows}) == len(rows), "row ids must be unique"
    assert len(DEFECTIVE) >= 40 and len(GOOD) >= 8
    for case in DEFECTIVE:
        assert case.expected, case.id
        for rule_id, severity in case.expected:
            assert rule_id in KNOWN_IDS, (case.id, rule_id)
            assert severity in (E, W), (case.id, severity)
    for case in rows:
        mutated(case.edits)  # every edit matches the template


@pytest.mark.parametrize("case", DEFECTIVE, ids=[case.id for case in DEFECTIVE])
def test_a_defective_code_gives_exactly_its_findings(case: Row) -> None:
    assert findings(case) == case.expected, case.description


@pytest.mark.parametrize("case", GOOD, ids=[case.id for case in GOOD])
def test_a_good_unusual_code_gives_no_finding(case: Row) -> None:
    assert findings(case) == set(), case.description
