"""The dashboard: a provider's figures as charts with their tables, and CSV exports.

Thin views over :mod:`amends.cases.figures` (the aggregate queries). Every chart is an SVG
drawn on the server (no JavaScript), named by its ``<title>``, labelled bar by bar in words and
numbers (never colour alone), with a data table under it. The exports stream one row per case
or clock for the same dates; a cell that a spreadsheet would read as a formula gets a leading
apostrophe.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, cast

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone

from amends.cases.figures import (
    CASE_COLUMNS,
    CLOCK_COLUMNS,
    Figures,
    Period,
    Tally,
    cases_for_export,
    clocks_for_export,
    dashboard_figures,
)
from amends.cases.queues import risk_horizon
from amends.console.access import staff_view
from amends.domain.access import Work
from amends.domain.obligations import LONDON
from amends.providers.models import Provider

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- the dates


@dataclass(frozen=True)
class DateError:
    field: str
    message: str


def _parse_period(query: Any, today: date) -> tuple[Period, dict[str, str], list[DateError]]:
    """The dates asked for (``from``, ``to``: ISO dates, both included), the text to show back
    in the form, and what was wrong with them."""
    default = Period.last_12_months(today)
    raw = {name: (query.get(name) or "").strip()[:40] for name in ("from", "to")}
    errors: list[DateError] = []
    parsed: dict[str, date] = {}
    words = {"from": "From", "to": "To"}
    for name in ("from", "to"):
        if not raw[name]:
            parsed[name] = default.start if name == "from" else default.end
            continue
        try:
            parsed[name] = date.fromisoformat(raw[name])
            if not 2000 <= parsed[name].year <= 2099:
                raise ValueError("outside the years Amends counts")
        except ValueError:
            errors.append(
                DateError(
                    name,
                    f"Enter the '{words[name]}' date as a real date, for example "
                    f"{today.isoformat()}.",
                )
            )
    if not errors and parsed["from"] > parsed["to"]:
        errors.append(DateError("to", "The 'To' date must be the same as or after 'From'."))
    shown = {
        name: raw[name] or (parsed[name].isoformat() if name in parsed else "")
        for name in ("from", "to")
    }
    if errors:
        return default, shown, errors
    return Period(parsed["from"], parsed["to"]), shown, errors


# --------------------------------------------------------------------------- the charts

WIDTH: Final = 640
LABEL_WIDTH: Final = 240
BAR_SPACE: Final = 220
ROW: Final = 34
BAR: Final = 22
TOP: Final = 8
LABEL_CHARS: Final = 34


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str
    y: int
    text_y: int
    width: float
    value_x: float


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    #: Plain words: what is counted, and how.
    explain: str
    bars: list[Bar]
    height: int
    #: The data table under the chart: its caption, column headings (the first heads the
    #: row headings) and rows (a row heading, then cells).
    caption: str
    headings: list[str]
    rows: list[tuple[str, list[str]]]
    notes: tuple[str, ...] = ()
    label_x: int = LABEL_WIDTH - 8
    bar_x: int = LABEL_WIDTH
    width: int = WIDTH


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(
    *,
    id: str,
    title: str,
    explain: str,
    bars: Sequence[tuple[str, float, str]],
    caption: str,
    headings: list[str],
    rows: list[tuple[str, list[str]]],
    scale: float | None = None,
    notes: Iterable[str] = (),
) -> Chart:
    """Horizontal bars: each ``(label, value, value in words)`` labelled at both ends."""
    top = scale if scale is not None else max((value for _, value, _ in bars), default=0)
    drawn = []
    for n, (label, value, text) in enumerate(bars):
        width = 0.0 if not top else round(BAR_SPACE * max(value, 0) / top, 1)
        y = TOP + n * ROW
        drawn.append(Bar(_short(label), text, y, y + BAR // 2 + 5, width, LABEL_WIDTH + width + 6))
    return Chart(
        id=id,
        title=title,
        explain=explain,
        bars=drawn,
        height=max(TOP * 2 + len(bars) * ROW, 40),
        caption=caption,
        headings=headings,
        rows=rows,
        notes=tuple(notes),
    )


def _tally_chart(id: str, title: str, explain: str, tallies: list[Tally], noun: str) -> Chart:
    return bar_chart(
        id=id,
        title=title,
        explain=explain,
        bars=[(t.label, t.count, str(t.count)) for t in tallies],
        caption=title,
        headings=[noun, "Cases"],
        rows=[(t.label, [str(t.count)]) for t in tallies],
    )


def _percent(value: float | None) -> str:
    return "no cases" if value is None else f"{value:g}%"


def _hours(value: timedelta | None) -> str:
    if value is None:
        return "none yet"
    hours = value.total_seconds() / 3600
    if hours < 48:
        return f"{hours:.1f} hours"
    return f"{hours / 24:.1f} days ({hours:.0f} hours)"


def _date(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def charts(figures: Figures) -> list[Chart]:
    """Every figure as a chart with its table and its definition in plain words."""
    f = figures
    result = [
        _tally_chart(
            "open-by-state",
            f"Open cases by state ({f.open_total})",
            "Cases first received in these dates that are still open (from received to a "
            "scheme decision not yet carried out), by where each stands now.",
            f.open_by_state,
            "State",
        ),
        _tally_chart(
            "open-by-kind",
            f"Open cases by kind ({f.open_total})",
            "The same open cases, by kind: complaints, queries, support requests, abuse "
            "reports and comments on the code.",
            f.open_by_kind,
            "Kind",
        ),
        bar_chart(
            id="clocks",
            title=f"Clocks at risk ({f.at_risk}) and breached ({f.breached})",
            explain="A clock is one promise of a case with its due time. At risk: not met yet "
            "and due between now and one working day from now (the At risk queue). "
            "Breached: it ran out before it was met. Counted over the clocks of the cases "
            "first received in these dates.",
            bars=[
                ("At risk (due within 1 working day)", f.at_risk, str(f.at_risk)),
                ("Breached", f.breached, str(f.breached)),
            ],
            caption="Clocks at risk and breached, by kind of clock",
            headings=["Kind of clock", "At risk", "Breached"],
            rows=[(c.label, [str(c.at_risk), str(c.breached)]) for c in f.clocks]
            + [("All clocks", [str(f.at_risk), str(f.breached)])],
        ),
        bar_chart(
            id="resolved-within",
            title=f"Complaints resolved within 1, 6 and 8 weeks (of {f.complaints})",
            explain="Of the complaints first received in these dates, how many the customer "
            "accepted as resolved no later than 7, 42 and 56 days (of 24 hours) after first "
            "receipt. Each share counts the earlier ones too. A complaint re-opened after "
            "its acceptance counts as unresolved again.",
            bars=[
                (
                    f"Within {s.weeks} week{'s' if s.weeks > 1 else ''}",
                    s.resolved,
                    f"{s.resolved} of {s.of} ({_percent(s.percent)})",
                )
                for s in f.shares
            ],
            scale=f.complaints,
            caption="Complaints resolved within 1, 6 and 8 weeks of first receipt",
            headings=["Resolved", "Complaints", "Share of all complaints received"],
            rows=[
                (
                    f"Within {s.weeks} week{'s' if s.weeks > 1 else ''}",
                    [str(s.resolved), _percent(s.percent)],
                )
                for s in f.shares
            ]
            + [
                (
                    "Resolved at any time",
                    [str(f.resolved), _percent(_share(f.resolved, f.complaints))],
                ),
                (
                    "Still unresolved",
                    [str(f.unresolved), _percent(_share(f.unresolved, f.complaints))],
                ),
                (
                    "Withdrawn by the customer",
                    [str(f.withdrawn), _percent(_share(f.withdrawn, f.complaints))],
                ),
                (
                    "All complaints received",
                    [str(f.complaints), _percent(_share(f.complaints, f.complaints))],
                ),
            ],
            notes=(
                f"{f.unresolved} of these {f.complaints} complaints are still unresolved "
                f"(no acceptance recorded) and {f.withdrawn} were withdrawn.",
            ),
        ),
        bar_chart(
            id="adr-letters",
            title=f"ADR letters issued, by trigger ({f.letters})",
            explain="Complaints first received in these dates that have had an ADR letter, by "
            "what issued the first one: the ADR point (time), the provider's final position "
            "(deadlock), the customer asking, or a member of staff. The referral rate is the "
            "share of them the customer took to the ADR scheme.",
            bars=[(t.label, t.count, str(t.count)) for t in f.letters_by_trigger],
            caption="ADR letters by trigger, and referrals",
            headings=["Trigger", "Complaints"],
            rows=[(t.label, [str(t.count)]) for t in f.letters_by_trigger]
            + [
                ("All with an ADR letter", [str(f.letters)]),
                ("Referred to the ADR scheme", [str(f.referred)]),
            ],
            notes=(
                f"Referral rate: {f.referred} of {f.letters} "
                f"({_percent(f.referral_percent)}) referred to the ADR scheme.",
            ),
        ),
        bar_chart(
            id="median-times",
            title="Median time to acknowledge and to resolve",
            explain="The middle value (half took less, half took more) of the time from first "
            "receipt to the acknowledgement, over the complaints acknowledged, and to the "
            "customer's acceptance, over the complaints resolved; in hours, and days when "
            "longer than two days. Clock time, not working time.",
            bars=[
                (
                    "To acknowledge",
                    _seconds(f.median_acknowledge),
                    _hours(f.median_acknowledge),
                ),
                ("To resolve", _seconds(f.median_resolve), _hours(f.median_resolve)),
            ],
            caption="Median times from first receipt",
            headings=["Median time", "Time", "Complaints counted"],
            rows=[
                ("To acknowledge", [_hours(f.median_acknowledge), str(f.acknowledged)]),
                ("To resolve", [_hours(f.median_resolve), str(f.resolved)]),
            ],
        ),
        bar_chart(
            id="breaches-by-rule",
            title=f"Breaches by rule ({f.breached})",
            explain="Breached clocks of the cases first received in these dates, by the rule "
            "each cites (the code's or the regulation's) and its kind.",
            bars=[(b.label, b.count, str(b.count)) for b in f.breaches_by_rule],
            caption="Breached clocks by rule",
            headings=["Rule", "Kind of clock", "Breached clocks"],
            rows=[
                (b.rule_id or "no rule", [b.label.split(": ", 1)[-1], str(b.count)])
                for b in f.breaches_by_rule
            ],
            notes=() if f.breaches_by_rule else ("No clock was breached.",),
        ),
    ]
    return result


def _share(part: int, whole: int) -> float | None:
    return None if not whole else round(100 * part / whole, 1)


def _seconds(value: timedelta | None) -> float:
    return 0.0 if value is None else value.total_seconds()


# --------------------------------------------------------------------------- the views


def _provider(request: HttpRequest) -> Provider:
    return Provider.objects.get(pk=request.actor.provider_id)  # type: ignore[attr-defined]


def _page(
    request: HttpRequest,
    *,
    period: Period,
    shown: dict[str, str],
    errors: list[DateError],
    provider: Provider,
    figures: Figures | None,
) -> HttpResponse:
    query = f"from={period.start.isoformat()}&to={period.end.isoformat()}"
    return render(
        request,
        "console/dashboard/index.html",
        {
            "nav": "dashboard",
            "provider": provider,
            "period": period,
            "period_words": f"{_date(period.start)} to {_date(period.end)}",
            "shown": shown,
            "errors": errors,
            "error_for": {e.field: e.message for e in errors},
            "figures": figures,
            "charts": charts(figures) if figures is not None else [],
            "query": query,
            "may_export": request.actor.may(Work.EXPORT),  # type: ignore[attr-defined]
        },
        status=400 if errors else 200,
    )


@staff_view(Work.VIEW_DASHBOARD)
def dashboard(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    now = timezone.now()
    provider = _provider(request)
    period, shown, errors = _parse_period(request.GET, now.astimezone(LONDON).date())
    figures = None
    if not errors:
        figures = dashboard_figures(
            provider_id=actor.provider_id,
            period=period,
            now=now,
            risk_until=risk_horizon(provider, now),
        )
    return _page(
        request, period=period, shown=shown, errors=errors, provider=provider, figures=figures
    )


class _Echo:
    """csv.writer writes a row here and gets the line back, to stream it."""

    def write(self, value: str) -> str:
        return value


#: What a spreadsheet would take as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str | int:
    """A value as a CSV cell: instants in ISO 8601 UTC, text that could be a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _stream(headings: Iterable[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(list(headings))
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def _export(request: HttpRequest, what: str) -> HttpResponseBase:
    actor = request.actor  # type: ignore[attr-defined]
    now = timezone.now()
    period, shown, errors = _parse_period(request.GET, now.astimezone(LONDON).date())
    if errors:
        return _page(
            request,
            period=period,
            shown=shown,
            errors=errors,
            provider=_provider(request),
            figures=None,
        )
    if what == "cases":
        columns: Sequence[tuple[str, str]] = CASE_COLUMNS
        rows = cases_for_export(actor.provider_id, period).iterator(chunk_size=1000)
    else:
        columns = CLOCK_COLUMNS
        rows = clocks_for_export(actor.provider_id, period).iterator(chunk_size=1000)
    log.info(
        "dashboard export",
        extra={"provider_id": actor.provider_id, "user_id": actor.user_id, "export": what},
    )
    response = StreamingHttpResponse(
        _stream((heading for heading, _ in columns), rows), content_type="text/csv; charset=utf-8"
    )
    name = f"{what}-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@staff_view(Work.EXPORT)
def export_cases(request: HttpRequest) -> HttpResponse:
    # staff_view is typed for HttpResponse; a streaming response is served the same way.
    return cast(HttpResponse, _export(request, "cases"))


@staff_view(Work.EXPORT)
def export_clocks(request: HttpRequest) -> HttpResponse:
    return cast(HttpResponse, _export(request, "clocks"))


urlpatterns: list[URLPattern] = [
    path("dashboard/", dashboard, name="dashboard"),
    path("dashboard/cases.csv", export_cases, name="export_cases"),
    path("dashboard/clocks.csv", export_clocks, name="export_clocks"),
]
