"""``notion-sync emulate``: the emulators as standalone servers that any client can test against.

It starts the chosen emulators, seeds them from a fixture (the demo's by default), prints
where they are and what they accept (one JSON line with ``--json``), optionally writes a
notion-sync config pointing at them, and serves until SIGTERM or SIGINT (exit 0).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import tomli_w

from notion_sync.core.emulator_set import EmulatorSet
from notion_sync.core.errors import EXIT_OK, ConfigError, ConfigProblem
from notion_sync.core.fixture import read_fixture
from notion_sync.core.output import Output
from notion_sync.core.plugins import Discovery

__all__ = ["CONFIG_HEADER", "EmulateOptions", "parse_services", "run_emulate"]

CONFIG_HEADER = "# Written by `notion-sync emulate`: it points at the emulators and is rewritten at each start.\n"
"""The first line of a ``--config-out`` file; emulate overwrites only files that start with it."""


class EmulateOptions:
    """What ``notion-sync emulate`` was asked for."""

    def __init__(
        self,
        *,
        services: str | None = None,
        seed: Path | None = None,
        host: str = "127.0.0.1",
        port_base: int = 0,
        as_json: bool = False,
        config_out: Path | None = None,
    ) -> None:
        self.services = services
        self.seed = seed
        self.host = host
        self.port_base = port_base
        self.as_json = as_json
        self.config_out = config_out


def parse_services(raw: str | None, discovery: Discovery) -> tuple[bool, list[str]]:
    """``--services`` as (Notion wanted, connector names in order). None: Notion and every
    installed connector. Raises ``ConfigError`` naming an unknown service and the known ones."""
    known = sorted(discovery.connectors)
    if raw is None:
        return True, known
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n != "notion" and n not in known]
    if unknown or not names:
        listed = ", ".join(["notion", *known])
        what = f"unknown service {unknown[0]!r}" if unknown else "no service given"
        raise ConfigError([ConfigProblem("--services", f"{what}; choose from {listed} (comma-separated)")])
    return "notion" in names, [n for n in names if n != "notion"]


def run_emulate(
    out: Output, options: EmulateOptions, discovery: Discovery, *, stop: threading.Event | None = None
) -> int:
    """Serve the emulators until SIGTERM/SIGINT (or ``stop`` is set); returns the exit code."""
    with_notion, names = parse_services(options.services, discovery)
    if options.port_base and not 1024 <= options.port_base <= 65535 - len(names) - 1:
        raise ConfigError([ConfigProblem("--port-base", f"{options.port_base} is not a port from 1024 to 65535")])
    if options.config_out is not None and not with_notion:
        raise ConfigError(
            [ConfigProblem("--config-out", "a config needs the Notion emulator: add notion to --services")]
        )
    if options.config_out is not None:
        _check_config_out(options.config_out.expanduser())
    fixture = read_fixture(options.seed)
    connectors = {}
    for name in names:
        cls = discovery.connectors.get(name)
        if cls is None:
            raise ConfigError(
                [ConfigProblem("--services", f"connector {name!r} failed to load: {discovery.broken.get(name)}")]
            )
        connectors[name] = cls
    emulators = EmulatorSet(
        fixture, connectors, with_notion=with_notion, host=options.host, port_base=options.port_base
    )
    done = stop or threading.Event()
    try:
        emulators.start()
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem("--port-base", f"{exc}; choose another --port-base, or leave it out")]
        ) from None
    try:
        missing = [n for n in names if n not in emulators.targets]
        info: dict[str, Any] = {"services": emulators.listing(), "seed": fixture.source}
        if missing:
            info["without_emulator"] = missing
        if options.config_out is not None:
            path = options.config_out.expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            state = path.with_name(f"{path.stem}.sqlite3")
            # The emulators' content is new each start: a state file of an earlier session links
            # items that no longer exist, so it starts afresh too.
            for suffix in ("", "-wal", "-shm", ".lock"):
                Path(f"{state}{suffix}").unlink(missing_ok=True)
            text = CONFIG_HEADER + tomli_w.dumps(emulators.config_data(state.resolve()))
            path.write_text(text, encoding="utf-8")
            info["config"] = str(path)
            info["env"] = emulators.env()
        with _stopped_by_signals(done):
            _announce(out, info, options.as_json)
            while not done.wait(0.5):
                pass
    finally:
        counts = emulators.request_counts()
        emulators.close()
    if not options.as_json:
        out.line("stopped; requests served: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return EXIT_OK


def _check_config_out(path: Path) -> None:
    """Refuse to overwrite a config that ``emulate`` did not write (a real one, most likely)."""
    if path.is_dir():
        raise ConfigError([ConfigProblem("--config-out", f"{path} is a folder; give the path of a .toml file")])
    if path.exists():
        try:
            first = path.read_text(encoding="utf-8").splitlines()[:1]
        except (OSError, UnicodeDecodeError):
            first = []
        if first != [CONFIG_HEADER.rstrip("\n")]:
            raise ConfigError(
                [
                    ConfigProblem(
                        "--config-out",
                        f"{path} exists and was not written by notion-sync emulate: "
                        "give a new path (emulate overwrites only its own files), or delete it",
                    )
                ]
            )


def _announce(out: Output, info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        out.json(info)
        return
    from rich.table import Table

    table = Table("service", "base URL", "control API", "credentials (fake)")
    for name, service in info["services"].items():
        creds = "\n".join(f"{k}={v}" for k, v in service["credentials"].items()) or "any token"
        table.add_row(name, service["base_url"], service["control_url"], creds)
    out.show(table)
    out.line(f"seed: {info['seed']}")
    for name in info.get("without_emulator", []):
        out.line(f"note: connector {name!r} has no emulator and is left out")
    if "config" in info:
        out.line(f"config: {info['config']}; export these, then `notion-sync run --config {info['config']}`:")
        for key, value in info["env"].items():
            out.line(f"  export {key}={value}")
    out.line("serving until Ctrl-C (SIGINT) or SIGTERM; docs/emulators.md lists the control API")


@contextmanager
def _stopped_by_signals(done: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``done`` (a clean stop, exit 0) while inside; handlers restored after.
    Installed before the announcement, so a client that reads it and signals at once is heard."""

    def stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
