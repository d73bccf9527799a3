"""The management commands' shared part: read a file, show progress, print the summary, and
turn a rejected file into a ``CommandError`` listing its errors (nothing is imported)."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any, Never

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from tqdm import tqdm

from . import FileRejected, importer_for, read_table, size_limit
from .base import PHASE_LABELS

SHOWN_ERRORS = 50


class _TqdmOut:
    """tqdm writes carriage returns: pass them to the command's stdout without new lines."""

    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        self.stream.write(text, ending="")

    def flush(self) -> None:
        self.stream.flush()


class _Bars:
    """The ``progress`` callback of an import: one tqdm bar per phase ("Checking products",
    then "Importing products"), moved as the importer reports rows (every few hundred). The
    bar is redrawn at most every ``mininterval`` seconds (tqdm's default)."""

    mininterval = 0.1
    miniters: int | None = None

    def __init__(self, label: str, stdout: OutputWrapper, *, disable: bool) -> None:
        self.label, self.out, self.disable = label, _TqdmOut(stdout), disable
        self.phase: str | None = None
        self.bar: tqdm[Never] | None = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase = phase
            self.bar = tqdm(
                total=total,
                desc=f"{PHASE_LABELS[phase]} {self.label}",
                unit="row",
                file=self.out,
                disable=self.disable,
                mininterval=self.mininterval,
                miniters=self.miniters,
            )
        assert self.bar is not None
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class ImportCommand(BaseCommand):
    kind = ""

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="A CSV (UTF-8) or Excel .xlsx file.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check every row and report, import nothing.",
        )
        parser.add_argument(
            "--user", help="Username recorded as having done the import (history, ledger)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        importer = importer_for(self.kind)
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if path.stat().st_size > size_limit():
            raise CommandError(
                f"{path} is larger than {size_limit() // 1024 // 1024} MB; "
                "split it into smaller files."
            )
        user = None
        if options.get("user"):
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']}.")
        try:
            table = read_table(path.read_bytes(), path.name)
        except FileRejected as exc:
            raise CommandError(f"{path}: {exc.message}") from None
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        verbose = options.get("verbosity", 1) >= 1
        bars = _Bars(importer.label.lower(), self.stdout, disable=not verbose)
        try:
            report = importer.run(table, user=user, dry_run=options["dry_run"], progress=bars)
        except FileRejected as exc:
            raise CommandError(f"{path}: {exc.message}") from None
        finally:
            bars.close()
        if not report.ok:
            lines = [str(e) for e in report.errors[:SHOWN_ERRORS]]
            if len(report.errors) > SHOWN_ERRORS:
                lines.append(f"... and {len(report.errors) - SHOWN_ERRORS} more errors.")
            raise CommandError(
                f"{path} rejected: {report.rows_valid} rows valid, {report.rows_rejected} "
                "rejected; nothing was imported.\n" + "\n".join(lines)
            )
        if options["dry_run"]:
            self.stdout.write(
                f"Dry run: {report.rows_total} rows valid, 0 rejected; nothing was imported."
            )
            return
        self.stdout.write(
            self.style.SUCCESS(f"{report.rows_done} rows done, {report.rows_rejected} rejected.")
        )
        for line in report.summary:
            self.stdout.write(line)
