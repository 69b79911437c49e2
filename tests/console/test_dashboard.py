"""The dashboard and its CSV exports: who may see them, what they count (checked against the
rows, for the demo and after a simulator run), the date form, and CSV formula injection."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from amends.cases.actions import case_open, customer_create
from amends.cases.actors import actor_for_staff
from amends.cases.figures import Period
from amends.cases.models import Case, Obligation
from amends.cases.queues import risk_horizon
from amends.cases.simulator import Simulation, SimulationConfig
from amends.console.dashboard import csv_cell
from amends.domain.codes import CaseKind, ChannelType
from amends.domain.obligations import LONDON
from amends.providers.models import Provider
from tests.cases.conftest import CODES
from tests.cases.test_figures import assert_figures_match, expected
from tests.console.conftest import assert_accessible, browser_sign_in, signed_in

SHOTS = Path("/tmp/amends-shots")


def rows_of(response: Any) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def today() -> date:
    return timezone.now().astimezone(LONDON).date()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["manager", "director", "compliance", "admin"])
def test_roles_with_the_dashboard_see_it_and_may_export(
    demo: None, client: Client, role: str
) -> None:
    signed_in(client, f"v4voip-{role}")
    response = client.get("/staff/dashboard/")
    assert response.status_code == 200
    assert client.get("/staff/dashboard/cases.csv").status_code == 200
    assert client.get("/staff/dashboard/clocks.csv").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["adviser", "case_handler"])
def test_roles_without_the_dashboard_get_403(demo: None, client: Client, role: str) -> None:
    signed_in(client, f"v4voip-{role}")
    for url in ("/staff/dashboard/", "/staff/dashboard/cases.csv", "/staff/dashboard/clocks.csv"):
        assert client.get(url).status_code == 403, url


@pytest.mark.django_db
def test_signed_out_is_sent_to_sign_in(client: Client) -> None:
    response = client.get("/staff/dashboard/")
    assert response.status_code == 302 and "/staff/login/" in response["Location"]


@pytest.mark.django_db
def test_the_demo_figures_equal_the_rows_and_each_chart_has_a_table(
    demo: None, client: Client, django_assert_max_num_queries: Any
) -> None:
    signed_in(client, "v4voip-manager")
    provider = Provider.objects.get(slug="v4voip")
    with django_assert_max_num_queries(14):
        response = client.get("/staff/dashboard/")
    now = timezone.now()
    figures = response.context["figures"]
    period = Period.last_12_months(today())
    assert figures.period == period
    assert_figures_match(figures, expected(provider.pk, period, now, risk_horizon(provider, now)))
    assert figures.complaints == Case.objects.filter(provider=provider, kind="complaint").count()
    page = response.content.decode()
    charts = response.context["charts"]
    assert len(charts) == 7
    assert page.count('role="img"') == 7 and page.count("<caption>") == 7
    assert page.count("<title id=") == 7
    assert 'scope="col"' in page and 'scope="row"' in page
    assert "ISS-" not in page
    assert 'aria-current="page"' in page and ">Dashboard</a>" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query,field",
    [
        ({"from": "2026-02-30"}, "from"),
        ({"to": "next week"}, "to"),
        ({"from": "2026-06-02", "to": "2026-06-01"}, "to"),
    ],
)
def test_a_bad_date_shows_the_form_with_an_error_summary(
    demo: None, client: Client, query: dict[str, str], field: str
) -> None:
    signed_in(client, "v4voip-manager")
    for url in ("/staff/dashboard/", "/staff/dashboard/cases.csv"):
        response = client.get(url, query)
        assert response.status_code == 400
        page = response.content.decode()
        assert 'class="error-summary"' in page
        assert f'href="#id_{field}"' in page
        assert f'id="id_{field}"' in page and 'aria-invalid="true"' in page
        assert "<title>Error: " in page
        assert 'role="img"' not in page  # no figures for dates that do not exist


@pytest.mark.django_db
def test_the_exports_have_one_row_per_case_and_clock_of_the_provider(
    demo: None, client: Client
) -> None:
    signed_in(client, "v4voip-compliance")
    provider = Provider.objects.get(slug="v4voip")
    period = Period.last_12_months(today())
    query = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    cases = rows_of(client.get("/staff/dashboard/cases.csv", query))
    mine = Case.objects.filter(provider=provider)
    assert len(cases) - 1 == mine.count() > 0
    heading = cases[0]
    assert heading[:2] == ["Case id", "Reference"] and "Customer name" in heading
    assert {row[1] for row in cases[1:]} == set(mine.values_list("reference", flat=True))
    received = heading.index("First received (UTC)")
    for row in cases[1:]:
        instant = datetime.fromisoformat(row[received])
        assert row[received].endswith("Z") and instant.utcoffset() == timedelta(0)
    clocks = rows_of(client.get("/staff/dashboard/clocks.csv", query))
    assert len(clocks) - 1 == Obligation.objects.filter(provider=provider).count()
    assert "Customer name" not in clocks[0]
    assert not any(row[2].startswith("ISS-") for row in clocks[1:])


@pytest.mark.django_db
def test_a_cell_that_looks_like_a_formula_is_quoted(demo: None, client: Client) -> None:
    provider = Provider.objects.get(slug="v4voip")
    actor = actor_for_staff(User.objects.get(username="v4voip-manager"))
    now = timezone.now()
    customer = customer_create(
        provider=provider,
        now=now,
        contact_name='=HYPERLINK("http://x.invalid","Pay")',
        business_name="@SUM(A1:A9)",
    )
    case_open(
        provider=provider,
        customer=customer,
        kind=CaseKind.COMPLAINT,
        channel=ChannelType.PHONE,
        first_received_at=now,
        summary="+1 dial",
        now=now,
        actor=actor,
    )
    signed_in(client, "v4voip-manager")
    rows = rows_of(client.get("/staff/dashboard/cases.csv"))
    name, business = rows[0].index("Customer name"), rows[0].index("Business name")
    row = next(r for r in rows if r[name].startswith("'="))
    assert row[name] == '\'=HYPERLINK("http://x.invalid","Pay")'
    assert row[business] == "'@SUM(A1:A9)"
    for text in ("=1+1", "+1", "-1", "@A1", "\tx", "\r=1"):
        assert csv_cell(text) == "'" + text
    assert csv_cell("Pat = Example") == "Pat = Example"
    assert csv_cell(-1) == -1  # numbers we write are numbers, not text


@pytest.mark.django_db
def test_after_a_simulator_run_the_dashboard_counts_equal_the_rows(client: Client) -> None:
    config = SimulationConfig(
        code_text=(CODES / "template.toml").read_text(),
        code_name="template.toml",
        complaints=25,
        days=50,
        handlers=2,
        seed=3,
    )
    simulation = Simulation(config)
    simulation.run()
    provider = simulation.provider
    first = config.start.astimezone(LONDON).date()
    query = {"from": first.isoformat(), "to": (first + timedelta(days=config.days)).isoformat()}
    signed_in(client, "sim-manager")
    before = timezone.now()
    response = client.get("/staff/dashboard/", query)
    assert response.status_code == 200
    figures = response.context["figures"]
    period = Period(first, first + timedelta(days=config.days))
    assert_figures_match(
        figures, expected(provider.pk, period, before, risk_horizon(provider, before))
    )
    complaints = Case.objects.filter(provider=provider, kind="complaint")
    assert figures.complaints == complaints.count() >= 20
    assert figures.letters == complaints.filter(adr_letter_issued_at__isnull=False).count() >= 1
    assert (
        figures.breached == Obligation.objects.filter(provider=provider, state="breached").count()
    )
    assert figures.resolved == complaints.filter(resolved_at__isnull=False).count() >= 1
    cases = rows_of(client.get("/staff/dashboard/cases.csv", query))
    assert len(cases) - 1 == Case.objects.filter(provider=provider).count()
    clocks = rows_of(client.get("/staff/dashboard/clocks.csv", query))
    assert len(clocks) - 1 == Obligation.objects.filter(provider=provider).count()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_dashboard_in_a_browser_is_accessible(web_server: str, page: Any) -> None:
    from amends.core.demo import demo_load

    demo_load()
    browser_sign_in(page, web_server, "v4voip-manager", next_path="/staff/dashboard/")
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    expect(page.get_by_role("img", name="Open cases by state")).to_be_visible()
    expect(
        page.get_by_role("table", name="Clocks at risk and breached, by kind of clock")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Download the cases as CSV")).to_be_visible()
    assert_accessible(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
    page.get_by_label("From", exact=True).fill("2026-06-02")
    page.get_by_label("To", exact=True).fill("2026-06-01")
    page.get_by_role("button", name="Show figures").click()
    expect(page.get_by_role("alert")).to_contain_text("The 'To' date must be")
    expect(
        page.get_by_role("link", name="The 'To' date must be the same as or after 'From'.")
    ).to_have_attribute("href", "#id_to")
    assert_accessible(page)
