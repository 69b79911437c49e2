"""Working-time arithmetic: Amends' BusinessCalendar against the usual Python libraries.

Run from the repository root (needs the ``bench`` extra)::

    python -m benchmarks.calendar            # print the tables
    python -m benchmarks.calendar --write    # and update the "Calendar" section of RESULTS.md
    python benchmarks/calendar.py --write    # the same

Workload: England and Wales, Monday to Friday 09:00-17:30, bank holidays from the
``holidays`` package (subdivision ENG), fed identically to every library. N random
start instants (whole UTC seconds, uniform over 2024-2028, fixed seed), each with a
random duration of 1 to 80 whole working hours (whole hours so that pandas, which adds
whole hours only, can take part), and for ``working_time_between`` an end instant up to
30 days after the start. Amends runs on every input; the slower libraries run on the
first ``--sample`` inputs. Agreement is exact equality (to the second) with the slow
day-by-day reference in tests/domain/calendar_reference.py.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- calendar:begin -->", "<!-- calendar:end -->"
SEED = 20260401
YEARS = (2024, 2029)  # starts in [1 Jan 2024, 1 Jan 2029)


def _fix_path_when_run_as_script() -> None:
    """``python benchmarks/calendar.py`` puts benchmarks/ first on sys.path, where this
    file would shadow the stdlib ``calendar`` (imported by numpy, pandas, holidays)."""
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != here]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


@dataclass
class Row:
    name: str
    inputs: str
    n: int
    seconds: float
    agree: int | None = None
    checked: int = 0
    max_err: int = 0

    @property
    def per_call_us(self) -> float:
        return self.seconds / self.n * 1e6

    @property
    def ops(self) -> float:
        return self.n / self.seconds


def _agreement(got: Sequence[int], want: Sequence[int]) -> tuple[int, int, int]:
    diffs = [abs(g - w) for g, w in zip(got, want, strict=True)]
    return sum(d == 0 for d in diffs), len(diffs), max(diffs, default=0)


def _machine() -> dict[str, str]:
    model = platform.processor() or "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return {"cpu": model, "cores": str(os.cpu_count())}


def run(n: int, sample: int, reference_n: int, repeat: int) -> tuple[str, dict[str, Any]]:
    from datetime import UTC, datetime, timedelta
    from datetime import time as dtime

    import numpy as np

    from amends.domain.calendar import LONDON, BusinessCalendar, WorkingHours
    from tests.domain.calendar_reference import ReferenceCalendar

    versions: dict[str, str] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    import holidays

    versions["holidays"] = holidays.__version__

    hol = holidays.country_holidays("GB", subdiv="ENG", years=range(2023, 2032))
    hol_dates = sorted(hol)

    cal = BusinessCalendar(
        nation="england-and-wales", hours=WorkingHours.weekdays("09:00", "17:30")
    )
    ref = ReferenceCalendar("england-and-wales", {d: ("09:00", "17:30") for d in range(5)})

    rng = np.random.default_rng(SEED)
    lo = int(datetime(YEARS[0], 1, 1, tzinfo=UTC).timestamp())
    hi = int(datetime(YEARS[1], 1, 1, tzinfo=UTC).timestamp())
    starts: npt.NDArray[np.int64] = rng.integers(lo, hi, n, dtype=np.int64)
    hours: npt.NDArray[np.int64] = rng.integers(1, 81, n, dtype=np.int64)
    secs = hours * 3600
    ends = starts + rng.integers(0, 30 * 86400, n, dtype=np.int64)

    s_list: list[int] = starts.tolist()
    h_list: list[int] = hours.tolist()
    e_list: list[int] = ends.tolist()
    s_london = [datetime.fromtimestamp(s, LONDON) for s in s_list]
    s_utc = [datetime.fromtimestamp(s, UTC) for s in s_list]
    e_london = [datetime.fromtimestamp(s, LONDON) for s in e_list]
    durs = [timedelta(hours=h) for h in h_list]

    # ---- reference on a subsample -------------------------------------------------
    k = min(reference_n, n)
    t0 = time.perf_counter()
    ref_add = [int(ref.add_working_time(s_utc[i], durs[i]).timestamp()) for i in range(k)]
    ref_between = [
        int(ref.working_time_between(s_utc[i], e_london[i]).total_seconds()) for i in range(k)
    ]
    ref_seconds = time.perf_counter() - t0

    add_rows: list[Row] = []
    between_rows: list[Row] = []

    # ---- Amends, scalar ---------------------------------------------------------------
    add = cal.add_working_time
    between = cal.working_time_between
    out_london: list[datetime] = []

    def amends_add_london() -> None:
        out_london[:] = list(map(add, s_london, durs))

    out_utc: list[datetime] = []

    def amends_add_utc() -> None:
        out_utc[:] = list(map(add, s_utc, durs))

    out_between: list[timedelta] = []

    def amends_between() -> None:
        out_between[:] = list(map(between, s_london, e_london))

    for label, fn, rows in (
        ("Amends add_working_time (scalar)", amends_add_london, add_rows),
        ("Amends add_working_time (scalar)", amends_add_utc, add_rows),
        ("Amends working_time_between (scalar)", amends_between, between_rows),
    ):
        inputs = "aware UTC in" if fn is amends_add_utc else "aware London in"
        rows.append(Row(label, inputs + ", aware London out", n, _best(fn, repeat)))
    assert all(t.tzinfo is LONDON for t in out_london)
    scalar_add = [int(t.timestamp()) for t in out_london]
    scalar_add_utc = [int(t.timestamp()) for t in out_utc]
    scalar_between = [int(d.total_seconds()) for d in out_between]
    for row, got, want in (
        (add_rows[0], scalar_add, ref_add),
        (add_rows[1], scalar_add_utc, ref_add),
        (between_rows[0], scalar_between, ref_between),
    ):
        row.agree, row.checked, row.max_err = _agreement(got[:k], want)

    # ---- Amends, batch ------------------------------------------------------------
    batch_add = cal.add_working_time_many(starts, secs)
    batch_between = cal.working_time_between_many(starts, ends)
    t_add = _best(lambda: cal.add_working_time_many(starts, secs), repeat * 3)
    t_between = _best(lambda: cal.working_time_between_many(starts, ends), repeat * 3)
    row = Row("Amends add_working_time_many (batch)", "int64 epoch s", n, t_add)
    row.agree, row.checked, row.max_err = _agreement(batch_add.tolist()[:k], ref_add)
    add_rows.append(row)
    row = Row("Amends working_time_between_many (batch)", "int64 epoch s", n, t_between)
    row.agree, row.checked, row.max_err = _agreement(batch_between.tolist()[:k], ref_between)
    between_rows.append(row)
    batch_equals_scalar = batch_add.tolist() == scalar_add and (
        batch_between.tolist() == scalar_between
    )

    # A million, as the issue asks ("every clock of a million cases in seconds").
    big = 1_000_000
    big_starts = rng.integers(lo, hi, big, dtype=np.int64)
    big_secs = rng.integers(0, 80 * 3600, big, dtype=np.int64)
    big_ends = big_starts + rng.integers(0, 30 * 86400, big, dtype=np.int64)
    t_big_add = _best(lambda: cal.add_working_time_many(big_starts, big_secs), repeat)
    t_big_between = _best(lambda: cal.working_time_between_many(big_starts, big_ends), repeat)
    add_rows.append(
        Row("Amends add_working_time_many (batch)", "1,000,000, any seconds", big, t_big_add)
    )
    between_rows.append(
        Row("Amends working_time_between_many (batch)", "1,000,000", big, t_big_between)
    )

    m = min(sample, n)

    # ---- businesstimedelta (pytz) -------------------------------------------------------
    try:
        import businesstimedelta as btd
        import pytz
    except ImportError:  # pragma: no cover - bench extra missing
        btd = None
    if btd is not None:
        versions["businesstimedelta"] = _dist_version("businesstimedelta")
        london_pytz = pytz.timezone("Europe/London")
        rules = btd.Rules(
            [
                btd.WorkDayRule(
                    start_time=dtime(9),
                    end_time=dtime(17, 30),
                    working_days=[0, 1, 2, 3, 4],
                    tz=london_pytz,
                ),
                btd.HolidayRule(hol, tz=london_pytz),
            ]
        )
        res: list[int] = []

        def btd_add() -> None:
            res[:] = [
                int((s_utc[i] + btd.BusinessTimeDelta(rules, hours=h_list[i])).timestamp())
                for i in range(m)
            ]

        row = Row("businesstimedelta", "aware UTC in", m, _best(btd_add, 1))
        row.agree, row.checked, row.max_err = _agreement(res, ref_add[:m])
        add_rows.append(row)

        def btd_between() -> None:
            out = []
            for i in range(m):
                d = rules.difference(s_utc[i], e_london[i])
                out.append(d.hours * 3600 + d.seconds)
            res[:] = out

        row = Row("businesstimedelta Rules.difference", "aware UTC in", m, _best(btd_between, 1))
        row.agree, row.checked, row.max_err = _agreement(res, ref_between[:m])
        between_rows.append(row)

    # ---- pandas CustomBusinessHour -------------------------------------------------
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None:
        versions["pandas"] = pd.__version__
        offsets = {
            h: pd.offsets.CustomBusinessHour(
                n=h, start="09:00", end="17:30", holidays=hol_dates, weekmask="Mon Tue Wed Thu Fri"
            )
            for h in range(1, 81)
        }
        ts_london = [pd.Timestamp(s, unit="s", tz="UTC").tz_convert(LONDON) for s in s_list[:m]]
        ts_utc = [pd.Timestamp(s, unit="s", tz="UTC") for s in s_list[:m]]
        pres: list[int] = []

        def pandas_add(stamps: list[Any]) -> Callable[[], None]:
            def go() -> None:
                pres[:] = [int((stamps[i] + offsets[h_list[i]]).timestamp()) for i in range(m)]

            return go

        for label, stamps in (
            ("London-converted in", ts_london),
            ("UTC in (evaluated in UTC)", ts_utc),
        ):
            row = Row("pandas CustomBusinessHour", label, m, _best(pandas_add(stamps), 1))
            row.agree, row.checked, row.max_err = _agreement(pres, ref_add[:m])
            add_rows.append(row)

    # ---- exchange_calendars ---------------------------------------------------------------
    try:
        import exchange_calendars  # noqa: F401
        from exchange_calendars.exchange_calendar import ExchangeCalendar
    except ImportError:  # pragma: no cover
        ExchangeCalendar = None  # noqa: N806
    if ExchangeCalendar is not None and pd is not None:
        versions["exchange_calendars"] = _dist_version("exchange_calendars")
        adhoc = [pd.Timestamp(d) for d in hol_dates]

        class AmendsENG(ExchangeCalendar):  # type: ignore[misc, valid-type]
            name = "AMENDS-ENG"
            tz = LONDON
            open_times = ((None, dtime(9)),)
            close_times = ((None, dtime(17, 30)),)

            @property
            def adhoc_holidays(self) -> list[Any]:
                return adhoc

        xc = AmendsENG(start="2023-12-01", end="2031-12-31")
        minute = pd.Timedelta(minutes=1)
        xres: list[int] = []

        def xc_add() -> None:
            # To the minute: floor the start, roll to the next trading minute, step
            # count-1 trading minutes and close that minute (so a result on the
            # closing time is the closing time, not the next opening).
            out = []
            for i in range(m):
                start = pd.Timestamp(s_list[i], unit="s", tz="UTC").floor("min")
                first = xc.minute_to_trading_minute(start, "next")
                last = xc.minute_offset(first, h_list[i] * 60 - 1)
                out.append(int((last + minute).timestamp()))
            xres[:] = out

        row = Row("exchange_calendars minute_offset", "minute-floored UTC in", m, _best(xc_add, 1))
        row.agree, row.checked, row.max_err = _agreement(xres, ref_add[:m])
        add_rows.append(row)

        def xc_between() -> None:
            out = []
            for i in range(m):
                a = pd.Timestamp(s_list[i], unit="s", tz="UTC").floor("min")
                b = pd.Timestamp(e_list[i], unit="s", tz="UTC").floor("min")
                count = xc.minutes_distance(a, b) - (1 if xc.is_trading_minute(b) else 0)
                out.append(count * 60)
            xres[:] = out

        row = Row(
            "exchange_calendars minutes_distance", "minute-floored UTC in", m, _best(xc_between, 1)
        )
        row.agree, row.checked, row.max_err = _agreement(xres, ref_between[:m])
        between_rows.append(row)

    # ---- add_working_days: Amends, pandas CustomBusinessDay, numpy.busday_offset -----
    day_rows: list[Row] = []
    n_days: list[int] = rng.integers(1, 21, n, dtype=np.int64).tolist()
    ref_days = [ref.add_working_days(s_utc[i], n_days[i]).date().toordinal() for i in range(k)]
    add_days = cal.add_working_days
    out_days: list[datetime] = []

    def amends_days() -> None:
        out_days[:] = list(map(add_days, s_london, n_days))

    row = Row("Amends add_working_days (scalar)", "aware London in and out", n, 0.0)
    row.seconds = _best(amends_days, repeat)
    row.agree, row.checked, row.max_err = _agreement(
        [t.date().toordinal() for t in out_days[:k]], ref_days
    )
    day_rows.append(row)
    local_dates = [t.date() for t in s_london]
    if pd is not None:
        cbd = {
            j: pd.offsets.CustomBusinessDay(n=j, holidays=hol_dates, weekmask="Mon Tue Wed Thu Fri")
            for j in range(1, 21)
        }
        stamps = [pd.Timestamp(d) for d in local_dates[:m]]
        dres: list[int] = []

        def pandas_days() -> None:
            dres[:] = [(stamps[i] + cbd[n_days[i]]).toordinal() for i in range(m)]

        row = Row("pandas CustomBusinessDay", "London date in, date out", m, _best(pandas_days, 1))
        row.agree, row.checked, row.max_err = _agreement(dres, ref_days[:m])
        day_rows.append(row)
    np_dates = np.array(local_dates, dtype="datetime64[D]")
    np_n = np.array(n_days, dtype=np.int64)
    np_hol = np.array(hol_dates, dtype="datetime64[D]")
    bdc = np.busdaycalendar(weekmask="1111100", holidays=np_hol)
    # roll="backward": a Saturday start counts from Friday, so +1 is Monday (strictly after).
    np_out = np.busday_offset(np_dates, np_n, roll="backward", busdaycal=bdc)
    t_np = _best(lambda: np.busday_offset(np_dates, np_n, roll="backward", busdaycal=bdc), repeat)
    row = Row("numpy.busday_offset (batch)", "datetime64[D] in and out", n, t_np)
    epoch_ordinal = 719163  # date(1970, 1, 1).toordinal()
    np_ord = (np_out.astype(np.int64) + epoch_ordinal).tolist()
    row.agree, row.checked, row.max_err = _agreement(np_ord[:k], ref_days)
    day_rows.append(row)

    meta: dict[str, Any] = {
        "n": n,
        "sample": m,
        "reference_n": k,
        "reference_us": ref_seconds / (2 * k) * 1e6,
        "batch_equals_scalar": batch_equals_scalar,
        "versions": versions,
        "machine": _machine(),
        "add_rows": add_rows,
        "between_rows": between_rows,
        "day_rows": day_rows,
    }
    return _render(meta), meta


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover
        return "?"


def _table(rows: list[Row], base: Row, unit: str = "s") -> list[str]:
    lines = [
        "| implementation | inputs | n | µs/call | ops/s | time per call vs Amends scalar "
        "| agreement with reference | max error |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = r.per_call_us / base.per_call_us
        ratio_s = "1× (baseline)" if r is base else f"{ratio:,.3g}×"
        if r.agree is None:
            agree = "timing only"
        else:
            agree = f"{100 * r.agree / r.checked:.2f}% of {r.checked:,}"
        err = "-" if r.agree is None else f"{r.max_err:,} {unit}"
        lines.append(
            f"| {r.name} | {r.inputs} | {r.n:,} | {r.per_call_us:,.3f} | {r.ops:,.0f} "
            f"| {ratio_s} | {agree} | {err} |"
        )
    return lines


def _render(meta: dict[str, Any]) -> str:
    from datetime import UTC, datetime

    add_rows: list[Row] = meta["add_rows"]
    between_rows: list[Row] = meta["between_rows"]
    v = meta["versions"]
    machine = meta["machine"]
    scalar_add = add_rows[0]
    scalar_between = between_rows[0]
    batch_add = next(r for r in add_rows if "many" in r.name)
    batch_between = next(r for r in between_rows if "many" in r.name)
    amends_rows = [r for r in add_rows + between_rows if r.name.startswith("Amends")]
    all_agree = all(r.agree == r.checked for r in amends_rows if r.agree is not None)

    def verdict(ok: bool) -> str:
        return "met" if ok else "**NOT met**"

    versions = ", ".join(f"{k} {val}" for k, val in v.items())
    lines = [
        f"Run {datetime.now(UTC).date().isoformat()} with `python -m benchmarks.calendar --write`.",
        f"Machine: {machine['cpu']}, {machine['cores']} cores. Versions: {versions}.",
        "",
        f"Workload: England and Wales, Mon-Fri 09:00-17:30, `holidays` ENG dates given to "
        f"every library; {meta['n']:,} random starts in 2024-2028 (whole UTC seconds, "
        f"seed {SEED}), each with 1 to 80 random whole working hours; for "
        "`working_time_between`, an end up to 30 days later. Amends runs on all inputs; "
        f"the other libraries on the first {meta['sample']:,} (per-call figures are "
        "comparable). Agreement: exact equality with the day-by-day reference "
        f"(tests/domain/calendar_reference.py) on the first {meta['reference_n']:,} inputs "
        f"(the reference takes about {meta['reference_us']:,.0f} µs per call). "
        "Batch results equal the scalar results on all "
        f"{meta['n']:,} inputs: {'yes' if meta['batch_equals_scalar'] else '**NO**'}.",
        "",
        "### add_working_time",
        "",
        *_table(add_rows, scalar_add),
        "",
        "### working_time_between",
        "",
        *_table(between_rows, scalar_between),
        "",
        "### add_working_days (due date compared)",
        "",
        *_table(meta["day_rows"], meta["day_rows"][0], unit="days"),
        "",
        "### Targets",
        "",
        "| target | measured | |",
        "|---|---:|---|",
        f"| scalar `add_working_time` <= 3 µs/call, aware in and out | "
        f"{scalar_add.per_call_us:.2f} µs (London in), {add_rows[1].per_call_us:.2f} µs (UTC in) "
        f"| {verdict(max(scalar_add.per_call_us, add_rows[1].per_call_us) <= 3)} |",
        f"| scalar `working_time_between` <= 3 µs/call | {scalar_between.per_call_us:.2f} µs "
        f"| {verdict(scalar_between.per_call_us <= 3)} |",
        f"| batch >= 10 million ops/s | add {batch_add.ops / 1e6:.1f} M/s, "
        f"between {batch_between.ops / 1e6:.1f} M/s "
        f"| {verdict(min(batch_add.ops, batch_between.ops) >= 10e6)} |",
        f"| 100% agreement with the reference | "
        f"{'100%' if all_agree else 'below 100%'} | {verdict(all_agree)} |",
    ]
    return "\n".join(lines) + "\n"


def _write(section: str) -> None:
    block = f"{BEGIN}\n{section}{END}\n"
    if RESULTS.exists():
        text = RESULTS.read_text(encoding="utf-8")
    else:
        text = "# Benchmark results\n\nRecorded by the scripts in this directory.\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        tail = tail.lstrip("\n")
        text = head + block + ("\n" + tail if tail else "")
    else:
        if "## Calendar" not in text:
            text = text.rstrip("\n") + "\n\n## Calendar\n\n"
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--n", type=int, default=100_000, help="inputs for Amends")
    parser.add_argument("--sample", type=int, default=2_000, help="inputs for slow libraries")
    parser.add_argument("--reference", type=int, default=10_000, help="inputs checked")
    parser.add_argument("--repeat", type=int, default=5, help="best of this many runs")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    section, _ = run(args.n, args.sample, args.reference, args.repeat)
    print(section)
    if args.write:
        _write(section)
        print(f"updated {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    _fix_path_when_run_as_script()
    raise SystemExit(main())
