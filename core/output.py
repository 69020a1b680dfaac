"""What the CLI prints: readable text on a terminal, one JSON object per line on request.

All of it passes through the one redaction layer in ``notion_sync.core.secrets``, and problems go
to stderr, so ``--quiet`` runs from cron print nothing unless something is wrong.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from notion_sync.core.secrets import REDACTOR, RedactingFilter

if TYPE_CHECKING:
    from notion_sync.core.engine import MappingReport, RunReport
    from notion_sync.core.planner import Action

__all__ = ["Output", "setup_logging"]


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return REDACTOR.redact(json.dumps(data, ensure_ascii=False))


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # super().format() appends the traceback: redact the whole text, not just the message.
        return REDACTOR.redact(f"{record.levelname.lower()}: {super().format(record)}")


RETRY_LOGGER = "notion_sync.core.retry"


def setup_logging(fmt: str, *, quiet: bool, verbose: bool, terminal: bool | None = None) -> None:
    """Route every log record through redaction to stderr, as text or JSON.

    On a terminal (``terminal``, by default whether stderr is one) retries are shown as they
    happen ("retrying … in N s"), so a command waiting on a service never looks hung; in cron
    and pipes they stay quiet unless ``--verbose``."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _TextFormatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)
    for noisy in ("googleapiclient", "httpx", "httpcore", "urllib3", "slack_sdk", "uvicorn"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)
    on_terminal = sys.stderr.isatty() if terminal is None else terminal
    logging.getLogger(RETRY_LOGGER).setLevel(logging.INFO if on_terminal and not quiet else logging.NOTSET)


class Output:
    """The CLI's printer. ``fmt`` is ``text`` or ``json``."""

    def __init__(self, fmt: str = "text", *, quiet: bool = False) -> None:
        self.fmt = fmt
        self.quiet = quiet
        self.console = Console(highlight=False, soft_wrap=True)
        if not self.console.is_terminal:
            self.console = Console(highlight=False, soft_wrap=True, width=200)  # logs and pipes: do not wrap
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def json(self, data: dict[str, Any]) -> None:
        sys.stdout.write(REDACTOR.redact(json.dumps(data, ensure_ascii=False, default=str)) + "\n")
        sys.stdout.flush()

    def _say(self, event: str, text: str, console: Console, prefix: str) -> None:
        if self.quiet:
            return
        if self.fmt == "json":
            self.json({"event": event, "message": text})
        else:
            console.print(prefix + REDACTOR.redact(text), markup=False)

    def line(self, text: str) -> None:
        """A line of output; in JSON, an object ``{"event": "message", "message": ...}``."""
        self._say("message", text, self.console, "")

    def show(self, renderable: Any) -> None:
        """A table, rule or panel; in JSON, its plain text as one message object."""
        if self.quiet:
            return
        if self.fmt != "json":
            self.console.print(renderable)
            return
        if isinstance(renderable, str):
            self.line(renderable)
            return
        plain = Console(width=120, no_color=True, highlight=False, soft_wrap=True)
        with plain.capture() as captured:
            plain.print(renderable)
        self.line(captured.get().rstrip())

    def notice(self, text: str) -> None:
        """Something the user should know that is not an error, on stderr (``--quiet`` hides it)."""
        self._say("notice", text, self.err, "note: ")

    def problem(self, text: str) -> None:
        text = REDACTOR.redact(text)
        if self.fmt == "json":
            sys.stderr.write(json.dumps({"level": "error", "message": text}, ensure_ascii=False) + "\n")
        else:
            self.err.print(f"error: {text}", markup=False)

    def mapping_summary(self, rep: MappingReport, *, dry_run: bool) -> None:
        if self.fmt == "json":
            self.json(
                {
                    "event": "mapping",
                    "mapping": rep.name,
                    "connector": rep.connector,
                    "dry_run": dry_run,
                    "status": rep.status,
                    "full_scan": rep.full_scan,
                    "notion_requests": rep.notion_requests,
                    "rendered": rep.rendered,
                    **{k: rep.counts[k] for k in ("created", "updated", "deleted", "unchanged", "skipped", "failed")},
                    "written_back": rep.counts["written back"],
                    "conflicts": rep.counts["conflict"],
                    "write_back_error": rep.write_back_error or None,
                    "error": rep.error or None,
                    "failures": [{"page_id": f.page_id, "title": f.title, "error": f.error} for f in rep.errors],
                }
            )
            return
        prefix = "dry run: would make " if dry_run else ""
        text = prefix + rep.summary()
        if rep.status == "held":
            self.notice(text)
        elif rep.status != "ok" or rep.counts["failed"] or rep.write_back_error:
            self.problem(text)
            for failure in rep.errors[:20]:
                self.err.print(REDACTOR.redact(f"  row {failure.label}: {failure.error}"), markup=False)
            if len(rep.errors) > 20:
                self.err.print(f"  … and {len(rep.errors) - 20} more (notion-sync history --failed)")
        else:
            self.line(text)

    def write_backs(self, rep: MappingReport) -> None:
        """The write-backs and conflicts of a dry run, one line each (``← Notion  Status: ...``)."""
        if self.fmt == "json":
            for line in rep.write_backs:
                self.json({"event": "write_back", "mapping": rep.name, "change": line})
            return
        if self.quiet:
            return
        for line in rep.write_backs:
            self.console.print(REDACTOR.redact(f"{rep.name}: {line}"), markup=False, highlight=False, soft_wrap=True)

    def plan(self, rep: MappingReport) -> None:
        if self.fmt == "json":
            for a in rep.plan:
                self.json(
                    {
                        "event": "plan",
                        "mapping": rep.name,
                        "action": a.kind,
                        "page_id": a.page_id,
                        "title": a.title,
                        "changed": list(a.changed),
                        "reason": a.reason,
                    }
                )
            return
        if self.quiet or not rep.plan:
            return
        table = Table(title=f"{rep.name} → {rep.connector}: plan", title_justify="left")
        table.add_column("action")
        table.add_column("row")
        table.add_column("fields / reason")
        for a in rep.plan:
            table.add_row(
                _action_label(a),
                REDACTOR.redact(a.title or a.page_id),
                REDACTOR.redact(", ".join(a.changed) if a.changed else a.reason),
            )
        self.console.print(table)

    def run_report(self, report: RunReport) -> None:
        for rep in report.mappings:
            if report.dry_run:
                self.write_backs(rep)
                self.plan(rep)
            self.mapping_summary(rep, dry_run=report.dry_run)


def _action_label(a: Action) -> str:
    return {"create": "+ create", "update": "~ update", "delete": "- delete", "skip": "  skip", "fail": "! fail"}.get(
        a.kind, a.kind
    )
