"""A provider's complaints Code of Practice as data: the file format, its loader, the model.

A code is a TOML file (the three shipped ones are in ``amends/codes/``). The loader parses it
with :mod:`tomllib`, validates it with pydantic v2 models (the *format*), and turns it into
frozen dataclasses (the *domain*), which the rest of Amends reads: the checks
(:mod:`amends.domain.checks`), the law's floors (:mod:`amends.domain.regulation`), the published
code (``amends.codes.render``) and, later, the clocks of every case. Pure Python: never Django.

One job per module, each importing only the ones before it: :mod:`.vocabulary` (the enums),
:mod:`.durations` (:class:`Duration` and its bounds), :mod:`.model` (the domain dataclasses),
:mod:`.schema` (the pydantic models of the file), :mod:`.loader` (:func:`load_code` and its
errors). This package re-exports their public names; import them from here.

The format, key by key
======================
Top level ``format = 1`` (the version of this format; a file without it is rejected), then:

``[code]``
    ``title``, ``version`` (free text, e.g. ``"Vsn 1.3"``), ``effective_from`` (a TOML date),
    ``references`` (the regulatory provisions the code quotes, e.g. ``["GC 14.4"]``).
    Version and date are optional because the seeds lack them; ``check`` warns.
``[provider]``
    ``name`` (required), ``trading_name``, ``company_number``, ``website``, ``address``
    (a list of lines) and ``customers`` (``"domestic"``, ``"small_business"``,
    ``"not_for_profit"``, ``"other_business"``).
``[working_hours]``
    ``nation`` (``"england-and-wales"``, ``"scotland"``, ``"northern-ireland"``: the bank
    holidays that apply), ``days`` (``"mon-fri"`` or ``["mon", "tue", ...]``), ``opens`` and
    ``closes`` (``"09:00"``), ``bank_holidays`` (open on bank holidays? default false).
``[[channels]]``
    ``type``: ``phone``, ``email``, ``web_form``, ``post``, ``fax``, ``textphone``,
    ``account_manager``; ``value`` (the number, address or URL; a list of lines for
    ``post``; optional because a seed names channels without giving them, and ``check`` says
    so); ``purposes``: ``complaints``, ``customer_services``, ``support``, ``sales``,
    ``abuse``; optional ``label`` (the code's name for it), ``audience`` (who it is for, when a
    provider runs two lines for different customers), ``hours`` (a table like
    ``[working_hours]`` without ``nation``; absent means "any time" for written channels and
    "not stated" for voice), ``notes``.
``[intake]``
    ``collect``: what to include in a complaint, ``[{key = "account_number", label = "..."}]``;
    ``identity_checks``: the checks made before discussing an account, as sentences.
``[case_kinds.<kind>]``, kinds ``complaint``, ``account_query`` (account or sales query),
``support_request``, ``abuse_report``, ``code_comment`` (a comment on the code)
    ``label``, ``description`` and ``[[case_kinds.<kind>.promises]]``, each with ``kind`` (the
    obligation, a stable key: ``acknowledge``, ``introduce_handler``, ``first_response``,
    ``agree_updates``, ``update``, ``resolve``), at most one of ``within`` (a deadline) and
    ``every`` (a cadence, for ``update``), or ``agreed = true`` (a cadence agreed with the
    customer); ``when`` (conditions: ``{channel = ["email", "post"]}``,
    ``{support_contract = true}``), and ``detail`` (one more sentence for the published code).
    A promise with no time at all is allowed, because the seeds make some ("we will send a
    confirmation email"); ``check`` warns that no clock can be kept for it.
``[[escalation]]``
    The ladder, lowest first: ``role``, ``trigger`` (when a customer reaches it),
    ``review_within`` (the review's target, counted from the escalation), ``detail``, and
    ``truncated = true`` when the source's role title is cut off (kept as written; ``check``
    flags it rather than Amends guessing a title).
``[closure]``
    ``requires_customer_confirmation`` (closes only when the customer confirms it is
    resolved), ``reopening`` (a complaint can be re-opened), ``detail``.
``[adr]``
    The route to Alternative Dispute Resolution *as the code states it*, defects included:
    ``scheme`` (the body named, e.g. ``"Ombudsman Services"`` or ``"Ofcom"``), ``after`` (the
    time point, e.g. ``"8 weeks"``), ``deadlock_route`` (says a customer can go at deadlock),
    ``states_free`` (says ADR is free), ``states_time_limit`` (says the 12 months),
    ``letter_unasked`` (promises the ADR letter without being asked), ``[[adr.contacts]]``
    (``type`` = ``post``, ``phone``, ``textphone``, ``fax``, ``email``, ``website``; ``value``)
    and ``detail``. The ADR letter's deadline lives here only (a promise of kind
    ``adr_letter`` is rejected), so that the code cannot state it twice.
``[compensation]``
    ``approach`` (``case_by_case``, ``fixed_scheme``, ``not_stated``), ``paid_as``
    (``invoice_credit``, ``refund``, ``bank_transfer``, ``cheque``, ``as_agreed``), ``detail``.
``[accessibility]``
    ``statement`` and ``formats`` (``large_print``, ``braille``, ``audio``, ``easy_read``,
    ``text_relay``, ``bsl``, ``translation``).
``[comments]``
    ``invited`` (the code invites comments on itself) and ``detail``.

Unknown keys are errors (a typo must not silently drop a promise). Booleans must be TOML
booleans, durations strings.

Durations
=========
"24 working hours", "1.5 working hours", "10 working days", "5 business days" (business means
working), "48 hours", "28 days", "8 weeks", "1 week" parse into :class:`Duration` with units
``working_hours``, ``working_days``, ``hours``, ``days``, ``weeks``. Only hours may be
fractional. Anything else is rejected with the path and the accepted forms.

Comparing durations (which promise is stricter) is exact for the same unit, and for calendar
units (hours, days = 24 h, weeks = 7 days). Working time has no fixed calendar length, so it is
compared through *bounds*: working hours against working days by the working time each holds
(:meth:`Duration.working_bounds`), working against calendar time by the least and the most
calendar time the working time can take (:meth:`Duration.calendar_bounds`). One duration is
certainly at most another only when its longest possible span is no longer than the other's
shortest; otherwise the answer is "it depends on the start" (``None``). The case clocks
compute the real due instants with :mod:`amends.domain.calendar`; these bounds are only for
deciding, without a start instant, which of two promises binds.

Conditions
==========
A promise's ``when`` holds when every condition it names matches the facts of a case
(:class:`CaseFacts`). A fact the caller does not know (``None``) matches: Amends keeps a promise
it cannot rule out rather than drop a clock (the stricter reading).

Errors
======
:func:`load_code` and :func:`parse_code` raise :class:`CodeFileError`, whose ``problems`` each
carry a path in the file (``channels[2].value``, ``case_kinds.complaint.promises[0].within``)
or a line and column for TOML syntax errors, and a message "expected X, got Y".
"""

from __future__ import annotations

from amends.domain.codes.durations import DEFAULT_HOURS_PER_DAY as DEFAULT_HOURS_PER_DAY
from amends.domain.codes.durations import DURATION_FORMS as DURATION_FORMS
from amends.domain.codes.durations import Duration, DurationUnit
from amends.domain.codes.loader import (
    CodeFileError,
    Problem,
    code_from_mapping,
    load_code,
    parse_code,
)
from amends.domain.codes.model import (
    Accessibility,
    AdrContact,
    AdrRoute,
    CaseFacts,
    CaseKindSpec,
    Channel,
    Closure,
    Code,
    CodeMeta,
    Comments,
    Compensation,
    Condition,
    EscalationLevel,
    InfoItem,
    Intake,
    OpeningHours,
    Promise,
    Provider,
)
from amends.domain.codes.model import format_clock as format_clock
from amends.domain.codes.model import iter_promises as iter_promises
from amends.domain.codes.model import published_texts as published_texts
from amends.domain.codes.schema import FORMAT_VERSION as FORMAT_VERSION
from amends.domain.codes.schema import CodeFile as CodeFile
from amends.domain.codes.vocabulary import PROMISE_KINDS as PROMISE_KINDS
from amends.domain.codes.vocabulary import (
    AdrContactType,
    AltFormat,
    CaseKind,
    ChannelType,
    CompensationApproach,
    CustomerType,
    Nation,
    ObligationKind,
    PaymentMethod,
    Purpose,
    Weekday,
)

# The single module's __all__, unchanged. The public names it left out that other modules
# import (format_clock, iter_promises, PROMISE_KINDS ...) are re-exported above as ``X as X``.
__all__ = [
    "AdrContact",
    "AdrContactType",
    "AdrRoute",
    "AltFormat",
    "Accessibility",
    "CaseFacts",
    "CaseKind",
    "CaseKindSpec",
    "Channel",
    "ChannelType",
    "Closure",
    "Code",
    "CodeFileError",
    "CodeMeta",
    "Comments",
    "Compensation",
    "CompensationApproach",
    "Condition",
    "CustomerType",
    "Duration",
    "DurationUnit",
    "EscalationLevel",
    "InfoItem",
    "Intake",
    "Nation",
    "ObligationKind",
    "OpeningHours",
    "PaymentMethod",
    "Problem",
    "Promise",
    "Provider",
    "Purpose",
    "Weekday",
    "code_from_mapping",
    "load_code",
    "parse_code",
]
