"""Shared helpers of the benchmark scripts: databases, Django set-up, tables, docs/benchmarks.md.

The scripts run against the PostgreSQL server on this machine (``BENCH_PG``, default
``postgres://postgres@127.0.0.1:5432``) in databases they create themselves; nothing here
touches the development database or anybody else's.
"""

import datetime
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
PYTHON = sys.executable
PG_BASE = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
# A 50+ character key: DEBUG=0 refuses to start without one. Only used by the benchmarks.
SECRET_KEY = "bench-" + "k3y-not-for-production-" * 3


def db_url(name: str) -> str:
    return f"{PG_BASE}/{name}"


def db_exists(name: str) -> bool:
    with psycopg.connect(db_url("postgres"), autocommit=True) as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone())


def db_create(name: str, *, reset: bool) -> bool:
    """Create database ``name`` (dropped first with ``reset``). Returns True if it is new."""
    with psycopg.connect(db_url("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and not reset:
            return False
        if exists:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def app_env(database: str, **extra: str) -> dict:
    """Environment of a production-shaped process (DEBUG off) against ``database``."""
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    env.update(
        DEBUG="0",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        SECURE_SSL_REDIRECT="0",
        DATABASE_URL=db_url(database),
        DJANGO_SETTINGS_MODULE="oms.settings",
        LOG_LEVEL="WARNING",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    env.update(extra)
    return env


def migrate(database: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=app_env(database),
        check=True,
    )
    return time.perf_counter() - started


def django_setup(database: str, **extra: str) -> None:
    """Configure this process like production against ``database`` and set Django up."""
    os.environ.pop("REDIS_URL", None)
    os.environ.update(app_env(database, **extra))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def table(rows: list[list], headers: list[str]) -> str:
    """A Markdown table (printed as is, and written to the docs)."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def fmt(row):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    lines = [fmt(cells[0]), "| " + " | ".join("-" * w for w in widths) + " |"]
    lines += [fmt(r) for r in cells[1:]]
    return "\n".join(lines)


def machine() -> str:
    with psycopg.connect(db_url("postgres")) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    return (
        f"{os.cpu_count()} cores, {mem_kb // 1024 // 1024} GB RAM, PostgreSQL {version} "
        f"(shared_buffers {buffers}), Python {sys.version.split()[0]}, "
        f"run {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, "
        f"load average {os.getloadavg()[0]:.1f} at the end (the machine is shared)"
    )


HEADER = """# Benchmarks

Figures written by the scripts in `bench/` (see `bench/README.md`); each section is replaced
when its script runs again. Nothing here is typed by hand except the notes between sections.
"""


def docs_write(section: str, body: str) -> None:
    """Replace (or append) the section ``section`` of docs/benchmarks.md."""
    DOCS.parent.mkdir(exist_ok=True)
    text = DOCS.read_text() if DOCS.exists() else HEADER
    start, end = f"<!-- bench:{section} -->", f"<!-- /bench:{section} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOCS.write_text(text)


def rss_mb(pid: int) -> float:
    """Resident memory of one process (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(c) for c in text)
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and every process below it (children, grandchildren, ...)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            todo.extend(children(current))
        except OSError:  # it ended meanwhile
            continue
    return found


def process_cpu(pid: int) -> tuple[int, float] | None:
    """(start time in ticks, user + system CPU seconds so far) of one process, or None when it
    is gone. The start time tells a process from a later one that reuses its id."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the ")": state is field 3 of proc(5), so utime (14), stime (15), starttime (22)
    # are at 11, 12 and 19.
    return int(fields[19]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used by a changing set of processes (``pids()`` says which, each time it is asked)
    from ``start()`` to the latest ``poll()``. A process first seen after ``start()`` counts
    from zero, since it began during the measurement (a recycled gunicorn worker, a new
    PostgreSQL backend); one that ended keeps what it had used at the last poll, so poll often
    when processes come and go."""

    def __init__(self, pids):
        self.pids = pids
        self.base: dict[tuple[int, int], float] = {}
        self.last: dict[tuple[int, int], float] = {}
        self.started = False

    def poll(self) -> float:
        for pid in self.pids():
            seen = process_cpu(pid)
            if seen is None:
                continue
            key = (pid, seen[0])
            self.base.setdefault(key, 0.0 if self.started else seen[1])
            self.last[key] = seen[1]
        return self.used()

    def start(self) -> None:
        self.base, self.last, self.started = {}, {}, False
        self.poll()
        self.started = True

    def used(self) -> float:
        return sum(self.last[key] - self.base[key] for key in self.last)


def git_commit() -> str:
    """The commit of the code being measured: the newest one that changed anything outside
    ``bench/`` and ``docs/`` (the scripts and their results do not change what is measured),
    with ``+changes`` when such files differ from it in the work tree."""
    outside = ["--", ".", ":!bench", ":!docs"]
    try:
        head = subprocess.run(
            ["git", "log", "-1", "--format=%h", *outside],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", *outside],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + ("+changes" if dirty else "")


def cpu_seconds(pids) -> float:
    """User + system CPU time used so far by these processes (from /proc/<pid>/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def pids_named(fragment: str) -> list[int]:
    """Processes whose command line contains ``fragment`` (e.g. every PostgreSQL backend)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if fragment in cmdline:
                found.append(int(entry.name))
    return found
