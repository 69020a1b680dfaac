"""Secrets: where tokens come from, how they are cleaned, and how they never get shown.

Every secret is read through ``resolve_secret`` and comes back as a ``Secret``: its
``str()`` is a fingerprint, and its value is registered with the one ``REDACTOR``
that scrubs log records, error messages and CLI output.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

from notion_sync.core.errors import ConfigError, ConfigProblem

__all__ = [
    "REDACTOR",
    "Redactor",
    "Secret",
    "fingerprint",
    "resolve_secret",
    "RedactingFilter",
    "check_secret",
    "clean_secret",
    "read_keyring",
    "write_keyring",
    "write_secret_file",
    "secret_setting",
    "config_relative",
]

log = logging.getLogger(__name__)


def fingerprint(value: str) -> str:
    """A safe way to name a secret: its prefix, last four characters and a short hash."""
    prefix = ""
    match = re.match(r"^([A-Za-z]+[_-])", value)
    if match:
        prefix = match.group(1)
    tail = value[-4:] if len(value) >= 12 else ""
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    return f"{prefix}…{tail} (sha256:{digest})"


class Redactor:
    """Replaces every registered secret in a text with its fingerprint."""

    def __init__(self) -> None:
        self._secrets: dict[str, str] = {}
        self._lock = threading.Lock()

    def register(self, value: str) -> None:
        """Redact ``value`` from now on (values shorter than 6 characters are ignored)."""
        if len(value) >= 6:
            with self._lock:
                self._secrets[value] = f"[secret {fingerprint(value)}]"

    def redact(self, text: str) -> str:
        """The text with every registered secret replaced by its fingerprint."""
        for value, shown in self._secrets.items():
            if value in text:
                text = text.replace(value, shown)
        return text


REDACTOR = Redactor()


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from messages and their arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the record in place; never drops it."""
        if REDACTOR._secrets:
            record.msg = REDACTOR.redact(record.getMessage())
            record.args = None
        return True


@dataclass(frozen=True)
class Secret:
    """A secret value. ``str()`` and ``repr()`` show only the fingerprint; ``reveal()`` gives it."""

    _value: str = field(repr=False)
    source: str = ""
    notes: tuple[str, ...] = ()

    def reveal(self) -> str:
        """The secret itself: only to hand to a client library."""
        return self._value

    @property
    def fingerprint(self) -> str:
        """A safe way to show this secret."""
        return fingerprint(self._value)

    def __str__(self) -> str:
        return f"[secret {self.fingerprint}]"

    def __repr__(self) -> str:
        return f"Secret({self.fingerprint}, from {self.source})"


_QUOTES = "\"'`"


def clean_secret(raw: str) -> tuple[str, list[str]]:
    """Strip what pasting adds to a token: whitespace, newlines, quotes, a ``Bearer`` prefix.

    One trailing newline is what every editor leaves at the end of a file: it goes silently."""
    notes: list[str] = []
    for ending in ("\r\n", "\n"):
        if raw.endswith(ending) and not raw[: -len(ending)].endswith(("\n", "\r", " ", "\t")):
            raw = raw[: -len(ending)]
            break
    value = raw.strip()
    if value != raw:
        notes.append("removed surrounding whitespace or newlines")
    if len(value) >= 2 and value[0] in _QUOTES and value[-1] == value[0]:
        value = value[1:-1].strip()
        notes.append("removed surrounding quotes")
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
        notes.append("removed a pasted 'Bearer ' prefix")
    return value, notes


def check_secret(value: str, where: str, source: str) -> None:
    """Refuse a secret with a line break, a space, a control or a non-ASCII character inside:
    no token has one, and an HTTP header cannot carry it. Says where, never shows it."""
    for index, char in enumerate(value):
        if char.isascii() and char.isprintable() and not char.isspace():
            continue
        if char in "\r\n":
            what = "a line break"
            fix = "a token is one line: keep only the token's line"
        elif char.isspace():
            what = "a space"
            fix = "a token has no spaces: copy it again with the Copy button"
        elif not char.isascii():
            what = f"a non-ASCII character (U+{ord(char):04X})"
            fix = "tokens are plain ASCII: copy it again with the Copy button, not from a rich-text document"
        else:
            what = f"a control character (U+{ord(char):04X})"
            fix = "copy it again with the Copy button"
        raise ConfigError(
            [
                ConfigProblem(
                    where,
                    f"the secret from {source} has {what} inside, at character {index + 1} of {len(value)}; {fix}",
                )
            ]
        )


def _read_file(path: Path, where: str) -> str:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(where, f"the secret file {path} does not exist")]) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(where, f"the secret file {path} cannot be read: {exc.strerror}")]) from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(
            [ConfigProblem(where, f"{path} is a directory, not a file; set {where} to the token file inside it")]
        )
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            [ConfigProblem(where, f"the secret file {path} can be read by other users; run: chmod 600 {path}")]
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            [ConfigProblem(where, f"the secret file {path} is not UTF-8 text: it should hold only the token")]
        ) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(where, f"the secret file {path} cannot be read: {exc.strerror}")]) from None


def _keyring_parts(entry: str, where: str) -> tuple[str, str]:
    service, sep, name = entry.partition("/")
    if not sep or not service or not name:
        raise ConfigError([ConfigProblem(f"{where}_keyring", f'{entry!r} must look like "service/name"')])
    return service, name


def _keyring_module(where: str):  # type: ignore[no-untyped-def]
    try:
        import keyring
    except ImportError:
        raise ConfigError(
            [
                ConfigProblem(
                    f"{where}_keyring", "the keyring support is not installed: pip install 'notion-sync[keyring]'"
                )
            ]
        ) from None
    return keyring


def read_keyring(entry: str, where: str) -> str:
    """The secret stored in the OS keyring under ``service/name``."""
    service, name = _keyring_parts(entry, where)
    try:
        value = _keyring_module(where).get_password(service, name)
    except Exception as exc:  # noqa: BLE001 - keyring backends raise their own types
        raise ConfigError([ConfigProblem(f"{where}_keyring", f"the keyring could not be read: {exc}")]) from None
    if value is None:
        raise ConfigError(
            [
                ConfigProblem(
                    f"{where}_keyring",
                    f"the keyring has no entry {entry!r}; store it with: keyring set {service} {name}",
                )
            ]
        )
    return str(value)


def write_keyring(entry: str, value: str, where: str) -> None:
    """Store a secret in the OS keyring under ``service/name``."""
    service, name = _keyring_parts(entry, where)
    _keyring_module(where).set_password(service, name, value)


def write_secret_file(path: Path, value: str) -> Path:
    """Replace a secret file atomically, readable by its owner only (mode 600); returns the
    file written. A symlink is written through: its target gets the new value, the link stays."""
    path = Path(os.path.realpath(path.expanduser()))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (value + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def config_relative(path: str | Path, base_dir: Path | None = None) -> Path:
    """A path from the config, with ``~`` expanded and a relative path taken from ``base_dir``
    (the config file's folder: ``ServiceSettings.base_dir``), else from the working directory."""
    resolved = Path(path).expanduser()
    if not resolved.is_absolute() and base_dir is not None:
        resolved = base_dir / resolved
    return resolved


def secret_setting(settings: object, prefix: str, where: str, *, default_env: str | None = None) -> Secret:
    """Read the secret a settings model describes with ``<prefix>_env``, ``<prefix>_file``,
    ``<prefix>_keyring`` and ``<prefix>`` (inline) fields, the same way for every service.

    ``default_env`` is used when none of them is set. A relative ``<prefix>_file`` is read
    from the settings' ``base_dir`` (the config file's folder)."""
    env = getattr(settings, f"{prefix}_env", None)
    file = getattr(settings, f"{prefix}_file", None)
    keyring = getattr(settings, f"{prefix}_keyring", None)
    inline = getattr(settings, prefix, None)
    if not (env or file or keyring or inline):
        env = default_env
    secret = resolve_secret(
        where,
        env=env if not (file or keyring or inline) else None,
        file=file,
        inline=inline,
        keyring=keyring,
        base_dir=getattr(settings, "base_dir", None),
    )
    assert secret is not None
    return secret


def resolve_secret(
    where: str,
    *,
    env: str | None = None,
    file: str | Path | None = None,
    inline: str | None = None,
    keyring: str | None = None,
    required: bool = True,
    base_dir: Path | None = None,
) -> Secret | None:
    """Read a secret from the OS keyring (``"service/name"``), a file (mode 600), an
    environment variable, or an inline value, in that order of preference.

    ``where`` names the config key for messages, e.g. ``"notion.token"``; a relative ``file``
    is taken from ``base_dir``.
    """
    raw: str | None = None
    source = ""
    if keyring:
        raw = read_keyring(keyring, where)
        source = f"keyring entry {keyring}"
        env = file = None
    if env:
        raw = os.environ.get(env)
        source = f"environment variable {env}"
        if raw is None and not file and inline is None:
            if not required:
                return None
            raise ConfigError(
                [ConfigProblem(f"{where}_env", f"the environment variable {env} is not set; export {env}=<token>")]
            )
    if raw is None and file:
        path = config_relative(file, base_dir)
        raw = _read_file(path, f"{where}_file")
        source = f"file {path}"
    if raw is None and inline is not None:
        raw = inline
        source = "the config file"
        log.warning("%s is written inline in the config file; move it to %s_env or %s_file", where, where, where)
    if raw is None:
        if not required:
            return None
        raise ConfigError([ConfigProblem(where, f"no secret given: set {where}_env or {where}_file")])
    REDACTOR.register(raw)
    value, notes = clean_secret(raw)
    if not value:
        raise ConfigError([ConfigProblem(where, f"the secret from {source} is empty")])
    REDACTOR.register(value)
    check_secret(value, where, source)
    for note in notes:
        log.warning("%s from %s: %s", where, source, note)
    return Secret(value, source, tuple(notes))
