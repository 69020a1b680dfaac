"""The ``notion-sync`` command line.

Exit codes: 0 all good; 1 some items failed and the rest synced; 2 config or usage
error; 3 authentication or permission problem; 4 the state file cannot be used; 75 a
temporary failure (another run holds the lock, or the disk is full).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.exceptions import TyperException

from notion_sync import __version__
from notion_sync.core.errors import EXIT_ITEMS_FAILED, ConfigError, NotionSyncError
from notion_sync.core.output import Output, setup_logging
from notion_sync.core.plugins import Discovery, discover
from notion_sync.core.secrets import REDACTOR

__all__ = ["app", "main"]

app = typer.Typer(
    name="notion-sync",
    help="Mirror Notion databases into Google Calendar, Trello, Slack and plugin targets, exactly once.\n\n"
    "Exit codes: 0 ok; 1 some items failed; 2 config or usage error; 3 access problem; "
    "4 the state file cannot be used; 75 temporary failure (another run holds the lock, or the disk is full).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
log = logging.getLogger("notion_sync")
T = TypeVar("T")

if TYPE_CHECKING:
    from notion_sync.core.config import Config


def connectors_of(ctx: typer.Context) -> Discovery:
    """The connectors of this invocation: the ``Discovery`` handed to ``main(discovery=...)``
    (the context's ``obj``: tests and embedding add connectors this way), else the installed ones."""
    given = ctx.find_root().obj
    return given if isinstance(given, Discovery) else discover()


def load_config(path: Path | None, ctx: typer.Context) -> Config:
    """The config at ``path`` (or the default place), imported here so ``--help`` stays light."""
    from notion_sync.core.config import load_config as load

    return load(path, discovery=connectors_of(ctx))


class LogFormat(str, Enum):
    text = "text"
    json = "json"


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="config file (default: $NOTION_SYNC_CONFIG or ./notion-sync.toml)", show_default=False
    ),
]
FormatOpt = Annotated[LogFormat, typer.Option("--log-format", help="text, or json: one JSON object per line")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="print only problems (for cron)")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="log what happens, and show tracebacks")]


def _version(value: bool) -> None:
    if value:
        print(f"notion-sync {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """notion-sync keeps external tools in step with Notion databases."""


def guarded(out: Output, verbose: bool, fn: Callable[[], T]) -> T:
    """Run a command body: known errors become one clear message and their exit code, never a traceback."""
    try:
        return fn()
    except NotionSyncError as exc:
        out.problem(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        out.problem("interrupted; the next run resumes where this one stopped")
        raise typer.Exit(130) from None
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no raw traceback for users
        if verbose:
            sys.stderr.write(REDACTOR.redact(traceback.format_exc()))
        out.problem(f"unexpected {type(exc).__name__}: {exc} (run with --verbose for details, and please report it)")
        raise typer.Exit(EXIT_ITEMS_FAILED) from None


@app.command()
def run(
    ctx: typer.Context,
    config: ConfigOpt = None,
    mapping: Annotated[
        list[str] | None, typer.Option("--mapping", "-m", help="run only this mapping (repeatable)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show the plan; write nothing, to targets or state")
    ] = False,
    full: Annotated[bool, typer.Option("--full", help="read every row now (finds trashed rows at once)")] = False,
    sweep: Annotated[
        bool,
        typer.Option(
            "--sweep",
            help="also list every item the mapping wrote and apply on_delete to those whose row left "
            "(implies --full; done by itself on the first full scan after a lost state file)",
        ),
    ] = False,
    allow_mass_delete: Annotated[
        bool,
        typer.Option(
            "--allow-mass-delete", help="let this run remove more than max_delete_fraction of a mapping's items"
        ),
    ] = False,
    render_all: Annotated[
        bool,
        typer.Option(
            "--render-all",
            help="render every row read, even those not edited since their item was last found current "
            "(the render memo): after a change the memo cannot see, such as a mentioned page renamed",
        ),
    ] = False,
    log_format: FormatOpt = LogFormat.text,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Sync the mappings: read Notion, then create, update and delete items in the targets.

    Mappings with write_back first carry the target's changes of those fields back into Notion
    (counted as "written back", with conflicts settled by conflict = notion/target/newest).
    On a terminal it shows the rows read and the writes done, and any retry as it waits;
    under cron (or with --quiet) it prints only problems."""
    setup_logging(log_format.value, quiet=quiet, verbose=verbose)
    out = Output(log_format.value, quiet=quiet)

    def body() -> int:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from notion_sync.core.engine import Engine, RunOptions

        cfg = load_config(config, ctx)
        idle = None if mapping else cfg.nothing_to_run()
        if idle:
            out.notice(idle)
            return 0
        options = RunOptions(
            mappings=mapping or (),
            dry_run=dry_run,
            full=full,
            allow_mass_delete=allow_mass_delete,
            sweep=sweep,
            render_all=render_all,
        )
        show_progress = sys.stderr.isatty() and not quiet and log_format == LogFormat.text
        if show_progress:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[rows]} rows read · {task.fields[writes]} writes"),
                TimeElapsedColumn(),
                transient=True,
                console=out.err,
            ) as bar:
                tasks: dict[str, Any] = {}

                def progress(name: str, rows: int, writes: int) -> None:
                    if name not in tasks:
                        tasks[name] = bar.add_task(name, total=None, rows=0, writes=0)
                    bar.update(tasks[name], completed=rows + writes, rows=rows, writes=writes)

                report = Engine(cfg, progress=progress).run(options)
        else:
            report = Engine(cfg).run(options)
        out.run_report(report)
        return report.exit_code

    code = guarded(out, verbose, body)
    raise typer.Exit(code)


@app.command()
def enqueue(
    ctx: typer.Context,
    config: ConfigOpt = None,
    mapping: Annotated[
        list[str] | None, typer.Option("--mapping", "-m", help="queue this mapping (repeatable)")
    ] = None,
    all_mappings: Annotated[bool, typer.Option("--all", help="queue every enabled mapping")] = False,
    log_format: FormatOpt = LogFormat.text,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Put syncs on the [celery] queue for the fleet's workers (from a shell or a cron line).

    A mapping already queued or running is not queued again."""
    setup_logging(log_format.value, quiet=quiet, verbose=verbose)
    out = Output(log_format.value, quiet=quiet)

    def body() -> int:
        cfg = load_config(config, ctx)
        if bool(mapping) == all_mappings:
            raise ConfigError("name the mappings to queue: --mapping NAME (repeatable), or --all")
        try:
            from notion_sync.celery import queue_sync
        except ImportError:
            raise ConfigError("the Celery fleet needs Celery: pip install 'notion-sync[celery]'") from None
        names = mapping or [m.name for m in cfg.mappings if m.config.enabled]
        for name in names:
            cfg.mapping(name)
        for name in names:
            if queue_sync(cfg, name):
                out.line(f"{name}: queued")
            else:
                out.line(f"{name}: already queued or running, not queued again")
        return 0

    code = guarded(out, verbose, body)
    raise typer.Exit(code)


@app.command()
def check(
    ctx: typer.Context, config: ConfigOpt = None, log_format: FormatOpt = LogFormat.text, verbose: VerboseOpt = False
) -> None:
    """Check the config, the Notion token, each database and each target. Read-only."""
    from notion_sync.core.doctor import run_checks

    setup_logging(log_format.value, quiet=False, verbose=verbose)
    out = Output(log_format.value)
    code = guarded(out, verbose, lambda: run_checks(config, out, discovery=connectors_of(ctx)))
    raise typer.Exit(code)


@app.command()
def connectors(ctx: typer.Context, log_format: FormatOpt = LogFormat.text) -> None:
    """List the installed connectors, built-in and plugins, and any that failed to load."""
    out = Output(log_format.value)
    found = connectors_of(ctx)
    if log_format == LogFormat.json:
        for name, spec in sorted(found.specs.items()):
            out.json(
                {
                    "connector": name,
                    "origin": found.origins[name],
                    "on_delete": list(spec.on_delete_modes),
                    "write_back": list(spec.write_back_fields),
                    "summary": spec.summary,
                    "ok": True,
                }
            )
        for name, why in sorted(found.broken.items()):
            out.json({"connector": name, "ok": False, "error": why})
    else:
        from rich.table import Table

        table = Table("connector", "on_delete", "write_back", "from", "what it does")
        for name, spec in sorted(found.specs.items()):
            table.add_row(
                name,
                " | ".join(spec.on_delete_modes),
                ", ".join(spec.write_back_fields) or "—",
                found.origins[name],
                spec.summary,
            )
        for name, why in sorted(found.broken.items()):
            table.add_row(f"✗ {name}", "", "failed to load", why)
        out.show(table)
    raise typer.Exit(1 if found.broken else 0)


@app.command()
def history(
    ctx: typer.Context,
    config: ConfigOpt = None,
    mapping: Annotated[str | None, typer.Option("--mapping", "-m", help="only this mapping")] = None,
    since: Annotated[str | None, typer.Option(help="only since then: 2d, 6h, or a date like 2026-11-01")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="list failed and parked items instead")] = False,
    limit: Annotated[int, typer.Option(help="at most this many lines")] = 100,
    log_format: FormatOpt = LogFormat.text,
) -> None:
    """Show what runs did to each item, which token wrote it, and the errors."""
    from notion_sync.core.history_view import show_history

    setup_logging(log_format.value, quiet=False, verbose=False)
    out = Output(log_format.value)
    code = guarded(
        out,
        False,
        lambda: show_history(load_config(config, ctx), out, mapping=mapping, since=since, failed=failed, limit=limit),
    )
    raise typer.Exit(code)


@app.command()
def retry(
    ctx: typer.Context,
    config: ConfigOpt = None,
    mapping: Annotated[str | None, typer.Option("--mapping", "-m", help="only this mapping")] = None,
    log_format: FormatOpt = LogFormat.text,
) -> None:
    """Re-queue parked items (failed max_attempts times) so the next run tries them again."""
    from notion_sync.core.history_view import requeue_parked

    setup_logging(log_format.value, quiet=False, verbose=False)
    out = Output(log_format.value)
    code = guarded(out, False, lambda: requeue_parked(load_config(config, ctx), out, mapping))
    raise typer.Exit(code)


@app.command()
def audit(
    ctx: typer.Context,
    config: ConfigOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    log_format: FormatOpt = LogFormat.text,
    verbose: VerboseOpt = False,
) -> None:
    """List everything the token can reach, mark what the config uses, and what to unshare."""
    from notion_sync.core.audit import CAPABILITY_NAMES, run_audit

    json_output = json_output or log_format == LogFormat.json
    setup_logging("json" if json_output else "text", quiet=False, verbose=verbose)
    out = Output("json" if json_output else "text")

    def body() -> int:
        report = run_audit(load_config(config, ctx))
        if json_output:
            out.json(report.as_json())
            return 0
        from rich.table import Table

        out.line(
            f'integration "{report.bot}" in workspace {report.workspace!r} can reach {len(report.items)} object(s):'
        )
        table = Table("", "type", "title", "id", "used by")
        for item in report.items:
            table.add_row(
                "✓" if item.used_by else "✗", item.object, item.title, item.id, ", ".join(item.used_by) or "—"
            )
        out.show(table)
        if report.unused:
            out.line(
                f"{len(report.unused)} object(s) are shared with the integration but no mapping uses them: "
                "remove the integration from each (open it in Notion → ••• → Connections)."
            )
        out.line(
            "capabilities the mappings need: "
            + "; ".join(f"{CAPABILITY_NAMES.get(k, k)} ({', '.join(v)})" for k, v in report.capabilities.items())
            + ". Turn the others off on the integration's page."
        )
        for problem in report.problems:
            out.problem(problem)
        return 3 if report.problems else 0

    raise typer.Exit(guarded(out, verbose, body))


token_app = typer.Typer(help="Manage the Notion token.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(token_app, name="token")


@token_app.command("rotate")
def token_rotate(
    ctx: typer.Context,
    config: ConfigOpt = None,
    from_file: Annotated[Path | None, typer.Option("--from-file", help="read the new token from this file")] = None,
    stdin: Annotated[bool, typer.Option("--stdin", help="read the new token from standard input")] = False,
    log_format: FormatOpt = LogFormat.text,
    verbose: VerboseOpt = False,
) -> None:
    """Check a new token (same integration and workspace, reaches every database) and store it.

    Without --stdin or --from-file it asks on the terminal (input hidden)."""
    from notion_sync.core.errors import ConfigError
    from notion_sync.core.token_rotation import check_rotatable, read_new_token, rotate_token

    setup_logging(log_format.value, quiet=False, verbose=verbose)
    out = Output(log_format.value)

    def body() -> int:
        if from_file and stdin:
            raise ConfigError("give --stdin or --from-file, not both")
        cfg = load_config(config, ctx)
        check_rotatable(cfg)
        if from_file:
            raw = read_new_token(from_file)
        elif stdin:
            raw = sys.stdin.read()
        elif not sys.stdin.isatty():
            raise ConfigError(
                "there is no terminal to ask for the new token on: pipe it in with --stdin "
                "(notion-sync token rotate --stdin < FILE), or give --from-file FILE"
            )
        else:
            try:
                raw = typer.prompt("New Notion token (input hidden)", hide_input=True)
            except typer.Abort:
                raise ConfigError("no token was entered; nothing was changed") from None
        result = rotate_token(cfg, raw)
        for note in result.notes:
            out.line(f"note: {note}")
        out.line(f"rotated: {result.old or 'unreadable old token'} → {result.new}; stored in {result.stored_in}")
        out.line("next: revoke the old secret on the integration's page if you have not, then run `notion-sync check`")
        return 0

    raise typer.Exit(guarded(out, verbose, body))


def _take_log_format(args: list[str]) -> tuple[list[str], str]:
    """``--log-format FMT`` (or ``=FMT``) taken out of a pass-through command's arguments."""
    fmt = "text"
    rest: list[str] = []
    items = iter(args)
    for arg in items:
        if arg == "--log-format":
            fmt = next(items, "text")
        elif arg.startswith("--log-format="):
            fmt = arg.partition("=")[2]
        else:
            rest.append(arg)
    if fmt not in ("text", "json"):
        from notion_sync.core.errors import ConfigError

        raise ConfigError(f"--log-format {fmt!r}: use text or json")
    return rest, fmt


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []})
def auth(
    ctx: typer.Context, service: Annotated[str, typer.Argument(help="the service to authorize, e.g. google")]
) -> None:
    """Authorize a service interactively, e.g. `notion-sync auth google --client-secrets FILE`.

    Takes --log-format like every command; the other options are the service's own."""
    from importlib.metadata import entry_points

    args, fmt = _take_log_format(list(ctx.args))
    setup_logging(fmt, quiet=False, verbose=False)
    out = Output(fmt)
    found = {ep.name: ep for ep in entry_points(group="notion_sync.auth")}
    if service not in found:
        out.problem(f"no auth command for {service!r}; available: {', '.join(sorted(found)) or 'none'}")
        raise typer.Exit(2)

    def body() -> int:
        command = typer.main.get_command(found[service].load())
        try:
            command.main(args=args, prog_name=f"notion-sync auth {service}", standalone_mode=False)
        except TyperException as exc:  # usage errors of the service's own options
            out.problem(exc.format_message())
            return 2
        return 0

    raise typer.Exit(guarded(out, False, body))


@app.command()
def serve(
    ctx: typer.Context,
    config: ConfigOpt = None,
    host: Annotated[
        str | None, typer.Option("--host", help="the address to listen on (default: [serve] host, 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="the port (default: [serve] port, 8787)")] = None,
    log_format: FormatOpt = LogFormat.text,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Receive Notion's webhooks and sync each changed row within seconds, until SIGTERM or Ctrl-C.

    Answers Notion's handshake (writes the verification token to [serve] verification_token_file,
    mode 600), checks every event's X-Notion-Signature, syncs exactly the pages the events name
    ([serve] debounce), runs every mapping as `run` does every [serve] reconcile_interval, and
    serves GET /healthz and GET /metrics. Logs one line per sync. README: Real-time with webhooks."""
    setup_logging(log_format.value, quiet=quiet, verbose=verbose)
    if not quiet:
        logging.getLogger("notion_sync.core.serve").setLevel(logging.DEBUG if verbose else logging.INFO)
    out = Output(log_format.value, quiet=quiet)

    def body() -> int:
        from notion_sync.core.serve import run_serve

        return run_serve(load_config(config, ctx), host=host, port=port)

    raise typer.Exit(guarded(out, verbose, body))


@app.command()
def demo(
    verbose: VerboseOpt = False,
    keep: Annotated[Path | None, typer.Option(help="keep the demo's config and state in this folder")] = None,
    log_format: FormatOpt = LogFormat.text,
) -> None:
    """Run a complete sync against local emulators: no network, no credentials needed."""
    from notion_sync.core.demo import run_demo

    setup_logging(log_format.value, quiet=False, verbose=verbose)
    out = Output(log_format.value)
    code = guarded(out, verbose, lambda: run_demo(out, keep))
    raise typer.Exit(code)


@app.command()
def emulate(
    ctx: typer.Context,
    services: Annotated[
        str | None,
        typer.Option(
            "--services",
            help="comma-separated: notion and connector names as `notion-sync connectors` lists them "
            "(default: notion and every installed connector that has an emulator)",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        Path | None,
        typer.Option(
            "--seed", help="a TOML or JSON fixture to load (default: the demo's; docs/emulators.md)", show_default=False
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="the address to listen on")] = "127.0.0.1",
    port_base: Annotated[
        int,
        typer.Option(
            "--port-base", help="serve on N, N+1, ... in the order listed (default: free ports)", show_default=False
        ),
    ] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="print one JSON line: per service its base URL and credentials")
    ] = False,
    config_out: Annotated[
        Path | None,
        typer.Option(
            "--config-out",
            help="write a notion-sync.toml pointing at the emulators (tokens as *_env keys)",
            show_default=False,
        ),
    ] = None,
    log_format: FormatOpt = LogFormat.text,
    verbose: VerboseOpt = False,
) -> None:
    """Serve the emulators (Notion, Google Calendar, Trello, Slack, plugins) until Ctrl-C or SIGTERM.

    With --log-format json, logs are JSON lines and the first stdout line is the --json object."""
    from notion_sync.core.emulate import EmulateOptions, run_emulate

    as_json = as_json or log_format == LogFormat.json
    setup_logging(log_format.value, quiet=False, verbose=verbose)
    out = Output("json" if as_json else "text")
    options = EmulateOptions(
        services=services, seed=seed, host=host, port_base=port_base, as_json=as_json, config_out=config_out
    )
    code = guarded(out, verbose, lambda: run_emulate(out, options, connectors_of(ctx)))
    raise typer.Exit(code)


@app.command()
def schema(
    database: Annotated[str, typer.Argument(help="the database's URL (••• → Copy link) or id")],
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    data_source: Annotated[
        str | None, typer.Option("--data-source", help="name or id of the data source, if the database has several")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="Notion's API address (default: the config's, else https://api.notion.com)",
            show_default=False,
        ),
    ] = None,
    token_env: Annotated[
        str, typer.Option("--token-env", help="environment variable holding the token, when there is no config file")
    ] = "NOTION_TOKEN",
    log_format: FormatOpt = LogFormat.text,
    verbose: VerboseOpt = False,
) -> None:
    """Show a database's properties, with types and options: what you need to write a mapping."""
    from notion_sync.core.schema_view import show_schema

    as_json = as_json or log_format == LogFormat.json
    setup_logging(log_format.value, quiet=False, verbose=verbose)
    out = Output("json" if as_json else "text")
    code = guarded(
        out,
        verbose,
        lambda: show_schema(
            out,
            database,
            config=config,
            data_source=data_source,
            base_url=base_url,
            token_env=token_env,
            as_json=as_json,
        ),
    )
    raise typer.Exit(code)


class _TyperPrompter:
    """``init``'s questions, asked with typer."""

    @staticmethod
    def _unanswered() -> NotionSyncError:
        from notion_sync.core.errors import ConfigError

        # End of input (no terminal, as under cron): say how to run without questions.
        return ConfigError(
            "no answer to a question of init: give the flags and --yes to run without "
            "questions (see notion-sync init --help)"
        )

    def ask(self, question: str, default: str | None = None, *, secret: bool = False) -> str:
        try:
            return str(typer.prompt(question, default=default, hide_input=secret, show_default=not secret))
        except typer.Abort:
            raise self._unanswered() from None

    def confirm(self, question: str, default: bool = True) -> bool:
        try:
            return bool(typer.confirm(question, default=default))
        except typer.Abort:
            raise self._unanswered() from None


@app.command()
def init(
    ctx: typer.Context,
    database: Annotated[
        str | None,
        typer.Option("--database", "-d", help="the database's URL (••• → Copy link) or id", show_default=False),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            "-t",
            help="a connector to sync into (repeatable), as `notion-sync connectors` lists them",
            show_default=False,
        ),
    ] = None,
    out_path: Annotated[Path, typer.Option("--out", "-o", help="the file to write")] = Path("notion-sync.toml"),
    token_env: Annotated[
        str,
        typer.Option(
            "--token-env",
            help="environment variable holding the Notion token (written to the file; the token never is)",
        ),
    ] = "NOTION_TOKEN",
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="Notion's API address (default: https://api.notion.com)", show_default=False),
    ] = None,
    data_source: Annotated[
        str | None, typer.Option("--data-source", help="name or id of the data source, if the database has several")
    ] = None,
    set_values: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="CONNECTOR.KEY=VALUE (repeatable): a key of the mapping or of the [CONNECTOR] table, "
            "e.g. CONNECTOR.fields.text={Name}; never a secret (use the *_env keys)",
            show_default=False,
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="ask nothing: use the flags and the guesses")] = False,
    force: Annotated[bool, typer.Option("--force", help="overwrite the file if it exists")] = False,
    log_format: FormatOpt = LogFormat.text,
    verbose: VerboseOpt = False,
) -> None:
    """Write a starter notion-sync.toml from a database's schema: asks, or runs from flags with --yes."""
    from notion_sync.core.init_wizard import InitOptions, run_init

    setup_logging(log_format.value, quiet=False, verbose=verbose)
    out = Output(log_format.value)
    options = InitOptions(
        database=database,
        targets=list(target or []),
        out=out_path,
        token_env=token_env,
        base_url=base_url,
        data_source=data_source,
        values=list(set_values or []),
        yes=yes,
        force=force,
    )
    code = guarded(
        out,
        verbose,
        lambda: run_init(out, options, prompter=None if yes else _TyperPrompter(), discovery=connectors_of(ctx)),
    )
    raise typer.Exit(code)


def main(*, discovery: Discovery | None = None) -> None:
    """Console-script entry point; ``discovery`` replaces the installed connectors (tests, embedding)."""
    app(obj=discovery)


if __name__ == "__main__":
    main()
