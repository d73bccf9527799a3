"""bench/profile_shares: the shares of a py-spy profile of the gunicorn workers, as in
``../shared/docs/performance.md`` (see bench/README.md for the run that records it).

    .venv/bin/python -m bench.profile_shares /tmp/load.txt

Reads py-spy's ``--format raw`` output (one collapsed stack and its sample count per line),
keeps the samples taken inside a request (``handle_request`` of gunicorn's sync worker) and
leaves out module imports, then prints, for each part of the request, the share of the
request's samples whose stack passes through it (inclusive: a frame and everything it calls),
and its share of the Python time (the samples not waiting on PostgreSQL). Nothing is written to
the docs: the profile slows the run, so its shares count, not its times.
"""

import argparse
import re
from pathlib import Path

from bench import common

# (name, pattern of a frame "function (file:line)" in the collapsed stack)
PARTS = [
    ("waiting for PostgreSQL (psycopg wait)", r"\bwait\w* \([^)]*psycopg/"),
    ("`order_place`", r"\border_place \("),
    ("`_place_confirmed`", r"\b_place_confirmed \("),
    ("the ORM compiling SQL (`SQLCompiler.as_sql`)", r"\bas_sql \([^)]*django/db/models/sql/"),
    ("`bulk_create`", r"\bbulk_create \("),
    ("`Model.save`", r"\bsave \([^)]*django/db/models/base\.py"),
    ("Redis, all uses (redis-py)", r"\(redis/"),
    ("the Celery publish after commit (`apply_async`)", r"\bapply_async \("),
    ("the API throttle", r"\ballow_request \([^)]*throttl"),
    ("token authentication", r"\bauthenticate \("),
    ("rendering e-mail templates (`render_to_string`)", r"\brender_to_string \("),
    ("rendering the answer (DRF serializers)", r"\(rest_framework/(serializers|fields)\.py"),
]
REQUEST = re.compile(r"\bhandle_request \(")
IMPORT = re.compile(r"\b_find_and_load \(")


def read(path: Path) -> list[tuple[str, int]]:
    samples = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples.append((stack, int(count)))
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path, help="py-spy record --format raw output")
    args = parser.parse_args()
    samples = [
        (stack, n)
        for stack, n in read(args.profile)
        if REQUEST.search(stack) and not IMPORT.search(stack)
    ]
    total = sum(n for _, n in samples)
    if not total:
        raise SystemExit("no samples inside handle_request: was gunicorn profiled?")
    waiting = re.compile(PARTS[0][1])
    python = sum(n for stack, n in samples if not waiting.search(stack)) or 1
    rows = []
    for name, pattern in PARTS:
        regex = re.compile(pattern)
        hits = sum(n for stack, n in samples if regex.search(stack))
        in_python = sum(
            n for stack, n in samples if regex.search(stack) and not waiting.search(stack)
        )
        of_python = "" if pattern == PARTS[0][1] else f"{in_python / python:.0%}"
        rows.append([name, f"{hits / total:.0%}", of_python])
    print(f"{total:,} samples inside requests, {python:,} of them not waiting on PostgreSQL\n")
    print(common.table(rows, ["where", "share of the request", "share of the Python time"]))


if __name__ == "__main__":
    main()
