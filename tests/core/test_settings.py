"""Settings come from the environment; production refuses unsafe defaults."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import REPO, amends_command, amends_env, free_port

PRINT_SETTINGS = (
    "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
    "django.setup(); from django.conf import settings as s;"
    "print(s.SECRET_KEY); print(s.DATABASES['default']['ENGINE']); print(s.TIME_ZONE, s.USE_TZ)"
)


def run_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = amends_env(tmp_path)
    base.pop("DATABASE_URL", None)
    base.pop("SECRET_KEY", None)
    base.pop("ALLOWED_HOSTS", None)
    base.pop("AMENDS_AUDIT_KEY", None)
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        env=base,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_local_secret_key_is_generated_once_and_kept_under_var(tmp_path: Path) -> None:
    first = run_settings(tmp_path)
    second = run_settings(tmp_path)
    assert first.returncode == 0, first.stderr
    key = first.stdout.splitlines()[0]
    assert len(key) >= 50
    assert second.stdout.splitlines()[0] == key
    assert (tmp_path / "var" / "secret_key").read_text().strip() == key


def test_default_database_is_sqlite_under_var_and_time_is_london(tmp_path: Path) -> None:
    result = run_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "django.db.backends.sqlite3"
    assert lines[2] == "Europe/London True"


def test_database_url_selects_postgresql(tmp_path: Path) -> None:
    result = run_settings(tmp_path, DATABASE_URL="postgres://root@127.0.0.1:5432/amends")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "django.db.backends.postgresql"


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    result = run_settings(tmp_path, AMENDS_ENV="production", ALLOWED_HOSTS="amends.example")
    assert result.returncode != 0
    assert "SECRET_KEY is required when AMENDS_ENV=production" in result.stderr
    assert not (tmp_path / "var" / "secret_key").exists()


def test_production_refuses_to_start_without_allowed_hosts(tmp_path: Path) -> None:
    result = run_settings(tmp_path, AMENDS_ENV="production", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is required when AMENDS_ENV=production" in result.stderr


def test_production_refuses_to_start_without_an_audit_key(tmp_path: Path) -> None:
    result = run_settings(
        tmp_path, AMENDS_ENV="production", SECRET_KEY="k" * 60, ALLOWED_HOSTS="amends.example"
    )
    assert result.returncode != 0
    assert "AMENDS_AUDIT_KEY is required when AMENDS_ENV=production" in result.stderr
    assert not (tmp_path / "var" / "audit_key").exists()


def test_production_starts_with_key_and_hosts(tmp_path: Path) -> None:
    result = run_settings(
        tmp_path,
        AMENDS_ENV="production",
        SECRET_KEY="k" * 60,
        ALLOWED_HOSTS="amends.example",
        AMENDS_AUDIT_KEY="a" * 48,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "k" * 60


def test_unknown_environment_name_is_refused(tmp_path: Path) -> None:
    result = run_settings(tmp_path, AMENDS_ENV="prod")
    assert result.returncode != 0
    assert "AMENDS_ENV must be 'local' or 'production'" in result.stderr


@pytest.mark.django_db
def test_the_database_is_set_up_for_several_processes() -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] == 20000
        assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    else:
        assert connection.vendor == "postgresql"
        # FOR UPDATE SKIP LOCKED (several workers) needs PostgreSQL 9.5+; we support 13+.
        assert connection.pg_version >= 130000
        assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def production_without_secret_key(tmp_path: Path) -> dict[str, str]:
    env = amends_env(tmp_path, AMENDS_ENV="production", ALLOWED_HOSTS="amends.example")
    for name in ("SECRET_KEY", "DATABASE_URL"):
        env.pop(name, None)
    return env


@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["worker"], ["check"]])
def test_a_configuration_error_is_one_line_and_exit_2_not_a_traceback(
    tmp_path: Path, command: list[str]
) -> None:
    result = subprocess.run(
        amends_command(*command),
        env=production_without_secret_key(tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "amends: configuration error: SECRET_KEY is required when AMENDS_ENV=production\n"
    )


def test_gunicorn_reports_a_configuration_error_in_one_line_and_stops(tmp_path: Path) -> None:
    """``gunicorn config.wsgi`` (without ``amends serve``) stops at once with the reason,
    rather than printing a traceback and starting one failing worker after another."""
    env = production_without_secret_key(tmp_path)
    env["HOME"] = str(tmp_path)  # gunicorn's control socket, if this version has one
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{free_port()}",
            "--workers",
            "1",
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert (
        "amends: configuration error: SECRET_KEY is required when AMENDS_ENV=production"
        in result.stderr.splitlines()
    )
    assert "Traceback" not in result.stderr
