"""The fuzzer against real server processes (DESIGN.md promise 3): schemathesis' command line,
with several workers of its own, sends requests generated from the OpenAPI document (valid
and invalid, then sequences of them) to gunicorn with several workers, on a database of the
test's own: a migrated SQLite file, and a scratch database on the PostgreSQL server of
``HVCASE_TEST_DATABASE_URL``. It finds no server error, and every answer conforms to the
document, with the checks of the in-process contract test (tests/test_contract.py, which
explores each role in depth inside rolled-back transactions; here the writes are committed
and raced). gunicorn's server log must show no server error either.

What the run does not hold against the app, each said where it is set below: gunicorn's own
414 to a request line longer than its limit (the app never sees it), a 412 or 413 refusing
invalid data (API.md orders them before the body), and one known error of the generator.
The longest valid request line reaches the app (gunicorn.conf.py's limit).

Each engine runs in its own pass of the suite: the SQLite run when the suite is on SQLite, the
PostgreSQL run when it is on PostgreSQL (CI runs both). A run is bounded by
``HVCASE_FUZZ_SECONDS`` (75 by default) and ``HVCASE_FUZZ_EXAMPLES`` per operation (10);
``pytest -s`` prints the operations and cases tested.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import flask_migrate
import psycopg
import pytest
from psycopg import sql

from tests.api import sign_in_as
from tests.conftest import DATABASE_URL, need_service
from tests.factories import PASSWORD, make_coalition
from tests.live import LiveClient, LiveServer, committing_app, one_transaction
from tests.test_contract import CHECKS

SECONDS = int(os.environ.get("HVCASE_FUZZ_SECONDS", "75"))
EXAMPLES = int(os.environ.get("HVCASE_FUZZ_EXAMPLES", "10"))
# The statuses that refuse invalid data (the fuzzer's defaults, and 412 and 413).
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422", "428"]
REFUSALS += ["429", "5xx"]  # a 5xx is the not_a_server_error check's to report
SERVER_WORKERS = 3  # gunicorn processes
FUZZ_WORKERS = 2  # schemathesis' concurrent requests
# The fuzzer signs in again each time it signs itself out (POST /auth/logout, or DELETE of
# its token), from the address that sends every generated sign-in, some of them to its own
# account (whose email it reads in the answers) with wrong passwords: the sign-in limits
# would soon refuse its own sign-in too and leave the rest of the run unauthenticated.
UNLIMITED = "100000 per 15 minutes"
SERVER_SETTINGS = {"LOGIN_FAILURES_PER_ADDRESS": UNLIMITED, "LOGIN_FAILURES_PER_ACCOUNT": UNLIMITED}
# gunicorn.conf.py's limit_request_line: a longer request line is refused by gunicorn itself,
# before the app, with a 414 of its own (a question for the HTTP server, not for the API).
REQUEST_LINE_LIMIT = 8190
HOOKS = f"""
from urllib.parse import urlsplit

import schemathesis


@schemathesis.hook
def filter_failure(context, failure, case, response):
    \"\"\"Keep every failure but gunicorn's 414 to a request line longer than its limit.\"\"\"
    if response.status_code != 414:
        return True
    url = urlsplit(response.request.url)
    target = url.path + ("?" + url.query if url.query else "")
    return len(f"{{response.request.method}} {{target}} HTTP/1.1") <= {REQUEST_LINE_LIMIT}
"""
# The server's log lines that betray a server error, whatever the fuzzer saw: an exception
# the app answered with a 500, a worker killed for hanging, a worker that died.
SERVER_ERROR_MARKS = ("unhandled error", "Traceback", "[CRITICAL]", "WORKER TIMEOUT")
# The one error of the fuzzer's own seen here: with several workers, Hypothesis sometimes
# fails to describe a strategy of a large schema (POST /agencies, /families) under CPython
# 3.11 ("SystemError: AST constructor recursion depth mismatch"): a Runtime Error of the
# generator, not an answer of the server.
KNOWN_TOOL_ERROR = "AST constructor recursion depth mismatch"


def test_the_fuzzer_finds_no_server_error_on_sqlite(tmp_path: Path) -> None:
    if DATABASE_URL:
        pytest.skip("runs in the suite's SQLite pass (HVCASE_TEST_DATABASE_URL unset)")
    fuzz("sqlite:///" + str(tmp_path / "fuzz.sqlite"), tmp_path)


@pytest.mark.postgres
def test_the_fuzzer_finds_no_server_error_on_postgresql(tmp_path: Path) -> None:
    need_service(DATABASE_URL, "HVCASE_TEST_DATABASE_URL is not set: this run needs PostgreSQL")
    with scratch_database(DATABASE_URL) as url:
        fuzz(url, tmp_path)


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new database on the server of ``server_url`` (whose own database the other tests
    share, and which the fuzzer's committed writes would litter), dropped afterwards."""
    name = f"hvcase_fuzz_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def fuzz(url: str, tmp_path: Path) -> None:
    """Migrate ``url``, make a coalition, serve it, fuzz it as agency a's admin (the widest
    role of an agency: its users, families and visits), and judge the run."""
    server = LiveServer(url, workers=SERVER_WORKERS, settings=SERVER_SETTINGS)
    try:
        with committing_app(url):
            flask_migrate.upgrade()
            with one_transaction():
                admin = make_coalition().a.admin
                email, headers = admin.email, sign_in_as(admin)
        base = server.ready()
        assert_a_long_valid_url_reaches_the_app(base, headers)
        report = tmp_path / "report.json"
        hooks = tmp_path / "hooks.py"
        hooks.write_text(HOOKS)
        done = subprocess.run(
            fuzzer_command(base, configuration(tmp_path, email), report),
            cwd=tmp_path,  # its reports and example database stay out of the checkout
            env={**os.environ, "SCHEMATHESIS_HOOKS": str(hooks)},
            capture_output=True,
            text=True,
            timeout=SECONDS + 180,
        )
        server_log = Path(server.log).read_text(errors="replace")
        (tmp_path / "fuzzer-output.txt").write_text(done.stdout + done.stderr)
    finally:
        server.stop()
    assert report.exists(), f"the fuzzer wrote no report:\n{done.stdout[-4000:]}{done.stderr}"
    judge(json.loads(report.read_text()), done.stdout, server_log)


def assert_a_long_valid_url_reaches_the_app(base: str, headers: dict[str, str]) -> None:
    """The longest valid request line, a ``reason`` of 500 four-byte characters (6000 bytes
    percent-encoded), is answered by the app (a 404 for an unknown visit), not refused by
    gunicorn."""
    reason = quote("\N{GRINNING FACE}" * 500)
    reply = LiveClient(base, headers).delete(f"/visits/{uuid.uuid4()}?reason={reason}")
    assert reply.status == 404, reply.text()[:500]
    assert reply.headers["Content-Type"] == "application/problem+json"


def configuration(tmp_path: Path, email: str) -> Path:
    """Sign in through the API, and again whenever an answer is a 401 (a revoked token).

    Invalid data may be refused with a 412 or a 413 as well as the fuzzer's usual statuses:
    API.md judges ``If-Match`` before the body, and a body above 2 MiB at any point."""
    path = tmp_path / "schemathesis.toml"
    path.write_text(
        "[auth.dynamic.openapi.bearerAuth]\n"
        'path = "/api/v1/auth/tokens"\n'
        f'payload = {{ email = "{email}", password = "{PASSWORD}", device_name = "fuzzer" }}\n'
        'extract_selector = "/token"\n'
        "\n"
        "[checks.negative_data_rejection]\n"
        f"expected-statuses = {json.dumps(REFUSALS)}\n"
    )
    return path


def fuzzer_command(base: str, config: Path, report: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{base}/api/v1/openapi.json",
        "--workers",
        str(FUZZ_WORKERS),
        "--max-examples",
        str(EXAMPLES),
        "--max-time",
        str(SECONDS),
        "--checks",
        ",".join(check.__name__ for check in CHECKS),
        "--request-timeout",
        "10",  # a hung request is an error of the run, not a stalled test
        "--suppress-health-check",
        "all",
        "--generation-database",
        "none",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
    ]


def judge(report: dict[str, Any], output: str, server_log: str) -> None:
    operations, cases = report["operations"], report["test_cases"]
    errors = error_blocks(output)
    tool_errors = [block for block in errors if KNOWN_TOOL_ERROR in block]
    print(
        f"\nfuzzed {operations['tested']}/{operations['total']} operations, "
        f"{cases['generated']} cases in {report['running_time']:.0f} s "
        f"({FUZZ_WORKERS} fuzzer workers, {SERVER_WORKERS} server workers; seed "
        f"{report['seed']}): {len(report['failures'])} kinds of failure, {len(errors)} errors "
        f"({len(tool_errors)} of the generator's own), "
        f"{report['auth']['reauth_count']} sign-ins again"
    )
    for failure in report["failures"]:
        print(f"  {failure['title']} ({failure['count']}): {', '.join(failure['operations'])}")
    marks = [line for line in server_log.splitlines() if any(m in line for m in SERVER_ERROR_MARKS)]
    print(f"server errors in gunicorn's log: {len(marks)}")

    details = output[output.find("=== FAILURES") :][:8000] if report["failures"] else ""
    assert not report["failures"], f"the fuzzer found failures:\n{details}"
    assert not marks, "server errors:\n" + "\n".join(marks[:20])
    # The fuzzer's errors: a request that got no answer (a crash, a timeout) fails the run,
    # but not the generator's known failure to describe a strategy (the operation's other
    # phases still run).
    assert sum(error["count"] for error in report["errors"]) == len(errors)
    unexplained = [block for block in errors if KNOWN_TOOL_ERROR not in block]
    assert not unexplained, "\n".join(head(block) for block in unexplained)
    assert operations["tested"] == operations["total"], operations
    assert cases["generated"] >= 10 * operations["total"], cases
    # Signed in throughout: only the operations the role may not use answer only 401/403.
    assert not report["auth"]["reauth_broke"]
    assert len(report["warnings"]["missing_auth"]) <= 5, report["warnings"]["missing_auth"]


def error_blocks(output: str) -> list[str]:
    """The errors the fuzzer printed, one block each (its ERRORS section, cut at each
    ``____ METHOD /path ____`` title)."""
    start = output.find("=== ERRORS")
    if start < 0:
        return []
    end = min(
        i
        for i in (
            output.find(" WARNINGS ===", start),
            output.find(" SUMMARY ===", start),
            len(output),
        )
        if i >= 0
    )
    return [b for b in re.split(r"\n(?=_{4,} )", output[start:end]) if b.startswith("_")]


def head(block: str) -> str:
    """The first lines of an error (its tracebacks can run to megabytes)."""
    return "\n".join(line[:300] for line in block.splitlines()[:12])
