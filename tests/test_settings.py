"""The settings read from the environment: production refuses to start without a real secret
key, and ``check --deploy`` is clean with production variables set."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_secret_key():
    result = manage("check", DEBUG="0", ALLOWED_HOSTS="oms.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_the_development_key():
    result = manage(
        "check",
        DEBUG="0",
        ALLOWED_HOSTS="oms.example.com",
        SECRET_KEY="django-insecure-dev-only-key-never-use-in-production",
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_check_deploy_is_clean_with_production_variables():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        ALLOWED_HOSTS="oms.example.com",
        SECRET_KEY=secrets.token_urlsafe(60),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_web_processes_freeze_what_they_loaded_and_collect_less_often():
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gc, oms.wsgi; print(gc.get_threshold()[0], gc.get_freeze_count() > 10_000)",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "oms.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["10000", "True"]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL connection options: run with DATABASE_URL=postgres://…/test",
)
@pytest.mark.django_db
def test_postgresql_connections_prepare_statements_and_do_not_jit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
    options = connection.settings_dict["OPTIONS"]
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 2
