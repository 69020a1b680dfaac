"""The connector interface: what an adapter for one external service implements.

The engine owns the loop, the state, planning, retries of failed items and the
errors' policy. A connector only knows how to

* ``render`` a row into the payload it would write (pure, no I/O),
* ``create``, ``update`` and ``delete`` one item,
* ``recover`` items it may have written before a crash (by marker or id),
* ``check`` its settings and access,
* optionally, ``list_marked``: every item it wrote for a mapping (for the sweep);
* optionally, write-back (two-way for chosen fields): ``write_back_fields``,
  ``write_back_problems``, ``write_back_keys``, ``target_changes`` and ``notion_values``.

A minimal connector::

    class EchoConnector(Connector[EchoSettings, EchoMapping]):
        name = "echo"
        Settings = EchoSettings
        MappingSettings = EchoMapping

        def render(self, row, mapping):
            return {"text": render_template(mapping.settings.fields.text, row)}

        def create(self, item, mapping):
            return ExternalRef(self.client.post(item.payload)["id"])
        ...

It is registered with an entry point in the group ``notion_sync.connectors``::

    [project.entry-points."notion_sync.connectors"]
    echo = "echo_connector:EchoConnector"
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, PrivateAttr

from notion_sync.core.errors import FatalError, ItemError, SkipItem
from notion_sync.core.fields import uses_body
from notion_sync.core.pacing import Pacers
from notion_sync.core.retry import RetryPolicy
from notion_sync.core.rows import Row

if TYPE_CHECKING:
    from notion_sync.core.emulator.base import ServiceEmulator
    from notion_sync.core.emulator.server import Faults

__all__ = [
    "CheckResult",
    "Connector",
    "EmulatedTarget",
    "DesiredItem",
    "ExternalRef",
    "Link",
    "MappingContext",
    "MappingSettings",
    "CreateOperation",
    "DeleteOperation",
    "Operation",
    "OperationKind",
    "OperationResult",
    "Question",
    "ServiceSettings",
    "SkipItem",
    "Starter",
    "TargetChanges",
    "TargetItem",
    "UpdateOperation",
    "WriteBackProblem",
    "first_property",
    "option_names",
    "title_property",
]


class ServiceSettings(BaseModel):
    """Base of a connector's service table (``[<connector>]``).

    Unknown keys are errors, so a typo is never silently ignored.
    """

    model_config = ConfigDict(extra="forbid")
    _base_dir: Path | None = PrivateAttr(default=None)

    @property
    def base_dir(self) -> Path | None:
        """The folder relative secret and credential files are read from: the config file's."""
        return self._base_dir

    def relative_to(self, base_dir: Path | None) -> Self:
        """A copy whose relative files are read from ``base_dir`` (config loading sets it)."""
        copy = self.model_copy()
        copy._base_dir = base_dir
        return copy


class MappingSettings(BaseModel):
    """Base of the connector's keys on a ``[[mappings]]`` entry.

    Subclasses declare ``fields`` (a model of ``Template`` and ``PropertyRef`` fields,
    see ``notion_sync.core.fields``) and any other keys the connector needs. The core keys (name,
    connector, database, data_source, filter, on_delete, ...) are not repeated here.
    """

    model_config = ConfigDict(extra="forbid")


S = TypeVar("S", bound=ServiceSettings)
M = TypeVar("M", bound=MappingSettings)


@dataclass(frozen=True)
class MappingContext(Generic[M]):
    """One mapping as a connector sees it during a run."""

    name: str
    settings: M
    on_delete: str
    database_id: str = ""
    data_source_id: str = ""
    schema: dict[str, Any] = field(default_factory=dict)
    """The data source's properties, name -> property object as ``GET /v1/data_sources/{id}``
    returns it (options, status groups...). Refreshed daily and when the rows show it changed."""
    run_cache: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)
    """This mapping's scratch space for one run, made fresh by the engine for each run: keep
    what ``recover`` reads here (one listing of the mapping's items, say), not on the connector,
    since the engine calls ``recover`` once per page of rows and nothing should outlive the run."""


@dataclass(frozen=True)
class DesiredItem:
    """What should exist in the target for one row: the connector's rendered ``payload``.

    ``payload`` must be JSON-serialisable and hold exactly what the connector writes;
    its hash decides whether an update is needed, so put nothing volatile in it.
    """

    mapping: str
    page_id: str
    page_url: str
    title: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class ExternalRef:
    """Where an item lives in the target: its ``id``, plus anything else needed to reach it
    again (a Slack channel, a Trello list...) as strings in ``extra``."""

    id: str
    extra: dict[str, str] = field(default_factory=dict)
    found: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    """Set by ``recover`` when it read the item: its content in ``render``'s form (exactly the
    keys ``render`` gives for this mapping). When it equals the row's payload, the engine adopts
    the item without writing it; None (not read) makes the engine rewrite it. Never stored."""


@dataclass(frozen=True)
class Link:
    """What the state remembers of an item the connector wrote.

    ``payload`` is what was last written (None when the link was recovered and the
    item's content is unknown). ``archived`` is true after an ``archive``/``strike``
    style delete: the item still exists in the target and can be restored.
    """

    page_id: str
    ref: ExternalRef
    payload: dict[str, Any] | None
    archived: bool = False


OperationKind = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class CreateOperation:
    """Write a new item for ``item``'s row."""

    page_id: str
    item: DesiredItem
    kind: ClassVar[Literal["create"]] = "create"


@dataclass(frozen=True)
class UpdateOperation:
    """Overwrite the item ``link`` points at with ``item`` (restoring it if archived)."""

    page_id: str
    item: DesiredItem
    link: Link
    kind: ClassVar[Literal["update"]] = "update"


@dataclass(frozen=True)
class DeleteOperation:
    """Carry out on_delete ``mode`` on the item ``link`` points at. ``mode`` is never ``keep``:
    the engine does not ask a connector to keep an item, it simply leaves it alone."""

    page_id: str
    link: Link
    mode: str
    kind: ClassVar[Literal["delete"]] = "delete"


Operation = CreateOperation | UpdateOperation | DeleteOperation
"""One write the engine asks for: match on the type (``isinstance``) or on ``kind``."""


@dataclass(frozen=True)
class OperationResult:
    """The outcome of one operation: the item's ref (None once deleted), or the item's error."""

    operation: Operation
    ref: ExternalRef | None = None
    error: ItemError | None = None


@dataclass(frozen=True)
class TargetItem:
    """One item as the target holds it now, for write-back: ``values`` are the payload keys of
    the mapping's write-back fields (``write_back_keys``), in ``render``'s form, so they compare
    with the payload notion-sync last wrote; ``modified`` is the target's own time of the item's
    last change (Trello's ``dateLastActivity``, Google's ``updated``), for ``conflict = "newest"``."""

    page_id: str
    ref: ExternalRef
    values: dict[str, Any]
    modified: datetime | None = None


@dataclass(frozen=True)
class TargetChanges:
    """What ``target_changes`` found: the items that may have changed (all of them is fine: the
    engine compares each with what it last wrote), and the token to list from next time."""

    items: dict[str, TargetItem]
    token: str | None = None
    """Kept in the state and handed back next run (Google's ``nextSyncToken``); None: none."""
    full: bool = True
    """The listing read every item (no token, or the token was refused), not only changes."""


@dataclass(frozen=True)
class WriteBackProblem:
    """Why a mapping's ``write_back`` cannot work: the key at fault (``write_back``,
    ``fields.name``, ``lists``...) and the reason with its fix. Config load exits 2 with it."""

    key: str
    reason: str


@dataclass(frozen=True)
class CheckResult:
    """One line of ``notion-sync check``: what was checked, whether it passed, and the fix."""

    name: str
    ok: bool
    detail: str = ""
    fix: str = ""
    access: bool = True
    """A failure is an access problem (exit 3) if true, a config problem (exit 2) if false."""


@dataclass(frozen=True)
class Question:
    """A value only the user knows, which ``notion-sync init`` asks for when it runs interactively.

    ``key`` is the mapping key it fills (dotted for a nested one, ``fields.start``); ``default``
    None means the user must answer. A value given with ``--set`` is not asked again.
    """

    key: str
    prompt: str
    default: str | None = None


@dataclass
class Starter:
    """What ``notion-sync init`` writes for a new mapping of this connector.

    * ``mapping``: the connector's keys on the mapping (``fields`` included); empty makes
      ``init`` write a comment listing the mapping keys for the user to fill in;
    * ``service``: the ``[<connector>]`` table. Only ``*_env`` (and ``*_file``) lines and
      placeholders, never a secret. None derives it from ``Settings``: its ``*_env`` keys and
      required keys;
    * ``notes``: a comment written above a key, by key path (``"fields.start"``); ``service_notes``
      the same for the service table;
    * ``questions``: what to ask when ``init`` runs interactively.
    """

    mapping: dict[str, Any] = field(default_factory=dict)
    service: dict[str, Any] | None = None
    notes: dict[str, str] = field(default_factory=dict)
    service_notes: dict[str, str] = field(default_factory=dict)
    questions: list[Question] = field(default_factory=list)


def title_property(schema: dict[str, dict[str, Any]]) -> str:
    """The name of the title property (every data source has exactly one)."""
    return next((n for n, p in schema.items() if p.get("type") == "title"), "Name")


def first_property(schema: dict[str, dict[str, Any]], *types: str) -> str | None:
    """The first property (in Notion's order) whose type is one of ``types``, tried in the order given."""
    for kind in types:
        for name, prop in schema.items():
            if prop.get("type") == kind:
                return name
    return None


def option_names(prop: dict[str, Any]) -> list[str]:
    """The option names of a select, multi-select or status property."""
    kind = prop.get("type", "")
    return [o.get("name", "") for o in (prop.get(kind) or {}).get("options") or [] if o.get("name")]


class Connector(ABC, Generic[S, M]):
    """Base class of every connector. One instance serves one run, for all its mappings.

    Class attributes to set:

    * ``name``: the connector's key, as in ``connector = "<name>"`` and ``[<name>]``;
    * ``Settings``: the model of the ``[<name>]`` service table;
    * ``MappingSettings``: the model of the connector's keys on a mapping;
    * ``on_delete_modes``: the on_delete values it supports, the first being the default;
    * ``batch_size``: how many operations ``apply`` receives at once (override ``apply``
      to write them in one request, as Google's batch endpoint allows);
    * ``render_is_pure``: set it when ``render`` reads nothing but the row, the mapping (its
      settings and schema) and what ``render_inputs`` names, so the engine may skip rendering
      rows not edited since their item was last found current.
    """

    name: ClassVar[str]
    Settings: ClassVar[type[ServiceSettings]]
    MappingSettings: ClassVar[type[MappingSettings]]
    on_delete_modes: ClassVar[tuple[str, ...]] = ("delete", "keep")
    batch_size: ClassVar[int] = 1
    summary: ClassVar[str] = ""
    """One line for ``notion-sync connectors``."""
    render_is_pure: ClassVar[bool] = False
    """``render`` depends only on the row, the mapping and ``render_inputs``: the render memo may
    skip rows whose page was not edited since their item was last written or found unchanged.
    Leave it False when ``render`` looks anything up (users, channels) or stashes state."""

    def __init__(self, settings: S) -> None:
        self.settings = settings
        self.retry_policy = RetryPolicy.from_env()
        """How hard to retry calls (``call_with_retry(..., policy=self.retry_policy)``); the engine
        sets its own."""
        self.pacers = Pacers()
        """Where to get pacers (``self.pacers.pacer(name, limit, window)``); the engine sets the
        run's, shared across the fleet's processes when ``[celery]`` is configured."""

    # -- pure -----------------------------------------------------------------
    @abstractmethod
    def render(self, row: Row, mapping: MappingContext[M]) -> dict[str, Any]:
        """The payload this row should produce. Pure: no I/O.

        Raise ``SkipItem`` when the row has nothing to write (its item, if any, is
        then removed), or ``ItemError`` for a row-specific error (end before start).
        """

    def render_inputs(self, mapping: MappingContext[M]) -> str:
        """What ``render`` reads besides the row and the mapping (after ``prepare``), as a text
        that changes when any of it does: a calendar's time zone, for instance. The render memo's
        key includes it, so a change renders every row again. Only asked when ``render_is_pure``."""
        return ""

    # -- writes ---------------------------------------------------------------
    @abstractmethod
    def create(self, item: DesiredItem, mapping: MappingContext[M]) -> ExternalRef:
        """Write a new item. Must leave a marker (id, extended property, metadata...)
        that ``recover`` can find if the process dies before the state records it."""

    @abstractmethod
    def update(self, link: Link, item: DesiredItem, mapping: MappingContext[M]) -> ExternalRef:
        """Overwrite the fields the mapping owns. If ``link.archived``, restore the item too."""

    @abstractmethod
    def delete(self, link: Link, mode: str, mapping: MappingContext[M]) -> ExternalRef | None:
        """Carry out ``on_delete`` for a row that left. Return None when the item is gone
        (already gone counts as done), or its ref when it still exists (archived, struck).

        ``mode`` is never ``keep``: under ``keep`` the engine leaves the item alone and only
        records it as kept, so a connector needs no ``keep`` branch."""

    @abstractmethod
    def recover(self, items: Sequence[DesiredItem], mapping: MappingContext[M]) -> dict[str, ExternalRef]:
        """Find items written earlier for these rows whose link was lost, keyed by page id.

        Called before creating items the state has no link for, when a create may have
        happened unrecorded (an interrupted run, a lost state file). Look up in bulk where
        the service allows it. Give each ref the item's content as ``found`` (in ``render``'s
        form) when the lookup read it: an item that is already right is then adopted with no
        write, so a lost state file costs no writes."""

    # -- optional -------------------------------------------------------------
    def list_marked(self, mapping: MappingContext[M]) -> dict[str, ExternalRef]:
        """Every live item (not archived, deleted or struck) that carries this mapping's marker,
        keyed by page id. Optional: it lets the engine sweep up the items of rows that left while
        the state file was missing (on the first full scan after a state loss, and with
        ``run --sweep``). A connector that does not override it has its sweep skipped."""
        raise NotImplementedError(f"{type(self).__name__} cannot list its items")

    @classmethod
    def can_list_marked(cls) -> bool:
        """Whether this connector implements ``list_marked`` (so the engine can sweep)."""
        return cls.list_marked is not Connector.list_marked

    @classmethod
    def default_on_delete(cls, settings: M) -> str:
        """The on_delete used when a mapping does not say; by default ``on_delete_modes[0]``.
        Override when it depends on the mapping (Slack's notify mode keeps its messages)."""
        return cls.on_delete_modes[0]

    @classmethod
    def comparable(cls, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` in the form used to tell whether an item ``recover`` found (``found``) is
        already right, so that a lost state file costs no write. By default the payload itself.
        Override when the service gives back the same value in another form (Google restates a
        ``dateTime`` in the event's time zone): return a form in which equal means equal. Pure."""
        return payload

    @classmethod
    def notion_capabilities(cls, settings: M) -> set[str]:
        """The Notion capabilities this mapping needs, for ``notion-sync audit``:
        ``read_content`` always; ``read_user_email`` to read people's emails. (The engine adds
        ``update_content`` for a mapping with ``write_back``.)"""
        return {"read_content"}

    @classmethod
    def route_of(cls, payload: dict[str, Any]) -> str | None:
        """Where a payload's item lives when a mapping routes rows by a property (a calendar, a
        channel), or None. An update that changes it moves the item to a new place: the engine
        records an intent first, so that a move cut short is finished by the next run. Pure."""
        return None

    @classmethod
    def reads_body(cls, settings: M) -> bool:
        """Whether this mapping needs the page bodies (``Row.body``): by default when one of its
        templates shows ``{body}`` or ``{body:rich}``. The engine reads a body only for such
        mappings, and only when the page was edited since it was last read."""
        return uses_body(settings)

    # -- optional: write-back (two-way for chosen fields) ------------------------
    write_back_fields: ClassVar[tuple[str, ...]] = ()
    """The target fields this connector can carry back into Notion (``write_back = [...]`` on a
    mapping): Trello's ``list``, ``due``, ``name``, ``due_complete``; Google's ``time``,
    ``summary``. Empty (the default): the connector is one-way and ``write_back`` is refused.
    A connector that declares fields must pass the conformance suite's write-back tests."""

    @classmethod
    def write_back_problems(
        cls, settings: M, fields: Sequence[str], schema: dict[str, Any] | None
    ) -> list[WriteBackProblem]:
        """Why these write-back fields cannot work for this mapping (empty: they can). Pure.

        Called at config load with ``schema`` None (check what the keys alone tell: a field the
        connector does not map, a Trello list with no entry in ``lists``), then before the first
        read of each run with the data source's properties (a formula or rollup property, a
        template that is not exactly one ``{Property}`` of a title or text type). Field names are
        already known to be in ``write_back_fields``."""
        return []

    @classmethod
    def write_back_keys(cls, settings: M, field: str) -> tuple[str, ...]:
        """The payload keys that write-back ``field`` covers (Google ``time``: ``start`` and
        ``end``). The engine compares these keys of the target's item, of the payload last
        written and of the row's payload now, in ``comparable``'s form."""
        return (field,)

    def target_changes(self, mapping: MappingContext[M], fields: Sequence[str], token: str | None) -> TargetChanges:
        """The items of this mapping that may have changed in the target, cheaply, keyed by page id.

        ``token`` is what the previous call returned as ``TargetChanges.token`` (None the first
        time). List by changes where the service can (Google: ``events.list`` with the
        ``syncToken``, and on 410 one full listing and a new token); otherwise in one read (Trello:
        the board's cards in one request, kept in ``mapping.run_cache`` for ``recover``). Only
        live items that carry this mapping's marker; values in ``render``'s form."""
        raise NotImplementedError(f"{type(self).__name__} cannot list its items' changes")

    @classmethod
    def notion_values(
        cls, settings: M, schema: dict[str, Any], field: str, values: dict[str, Any], row: Row
    ) -> dict[str, Any]:
        """The Notion property values (``PATCH /v1/pages/{id}`` ``properties`` form, by property
        name) that make ``row`` render ``values`` for write-back ``field``. Pure.

        ``row`` is the row as Notion holds it now: keep its representation (a date stays a date,
        a date-time keeps its offset or time zone, a single date stays single), so the next render
        gives exactly ``values`` and no write follows. Raise ``ItemError`` for a value that has no
        Notion form (a Trello list that no option of ``lists`` maps to)."""
        raise NotImplementedError(f"{cls.__name__} has no write-back")

    def check(self, mapping: MappingContext[M]) -> list[CheckResult]:
        """Read-only checks of credentials, the target container and write access."""
        return []

    def prepare(self, mapping: MappingContext[M]) -> None:
        """Called once per mapping before any write of a run: resolve names, read lists.
        Raise ``FatalError``/``AccessError`` to stop the mapping before it writes anything."""

    def apply(self, operations: Sequence[Operation], mapping: MappingContext[M]) -> Iterator[OperationResult]:
        """Carry out up to ``batch_size`` operations, yielding one result each.

        The default calls ``create``/``update``/``delete`` one at a time. An ``ItemError``
        fails that operation alone; a ``FatalError`` propagates and stops the mapping.
        """
        for op in operations:
            try:
                if isinstance(op, CreateOperation):
                    yield OperationResult(op, ref=self.create(op.item, mapping))
                elif isinstance(op, UpdateOperation):
                    yield OperationResult(op, ref=self.update(op.link, op.item, mapping))
                else:
                    yield OperationResult(op, ref=self.delete(op.link, op.mode, mapping))
            except FatalError:
                raise
            except ItemError as exc:
                yield OperationResult(op, error=exc)

    def close(self) -> None:
        """Release clients and connections."""

    @classmethod
    def starter(cls, schema: dict[str, dict[str, Any]]) -> Starter:
        """What ``notion-sync init`` writes for a new mapping: keys, comments and questions.

        ``schema`` is the data source's properties as Notion returns them (name -> property
        object with ``type`` and, for select/status/multi_select, the options). Guess only the
        connector's own keys, never a secret (name an environment variable in a ``*_env`` key).
        ``title_property``, ``first_property`` and ``option_names`` read the schema.

        The default wraps ``starter_mapping``.
        """
        return Starter(mapping=dict(cls.starter_mapping(schema)))

    @classmethod
    def starter_mapping(cls, schema: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Guesses for this connector's keys on a new mapping, for ``notion-sync init``. Optional.

        The short form of ``starter``, for a connector with no comments or questions: return
        the mapping keys (``fields`` included) that make a good start, e.g.
        ``{"channel": "#general", "fields": {"text": "{Name}"}}``. The default, ``{}``, makes
        ``init`` write a comment listing this connector's mapping keys for the user to fill in.
        """
        return {}

    @classmethod
    def emulated(cls) -> EmulatedTarget | None:
        """Start this connector's emulator, for ``notion-sync demo`` and the conformance suite.

        None means the connector has no emulator: it is left out of the demo."""
        return None


class EmulatedTarget(ABC):
    """A connector's emulator, running, with settings that point at it.

    ``notion-sync demo`` and the conformance suite use it. The demo database's
    properties are ``Name`` (title), ``Status`` (status: Not started / In progress /
    Done), ``Due`` (date), ``Tags`` (multi-select: Bug, Feature, Docs), ``Notes``
    (text), ``Owner`` (people), ``Priority`` (select: High, Medium, Low) and
    ``Urgent`` (checkbox).

    Set ``emulator`` to the running ``ServiceEmulator`` (``notion_sync.sdk``); ``faults``
    reads its fault knobs from it.
    """

    service_settings: dict[str, Any]
    """The ``[<connector>]`` table, pointing at the emulator."""
    mapping: dict[str, Any]
    """The connector's keys for a mapping of the demo database (``fields`` included).
    A text field must contain ``{Name}``: the conformance suite looks for it."""
    env: dict[str, str] = {}
    """Environment variables the settings need (fake tokens named by ``*_env`` keys)."""
    emulator: ServiceEmulator
    """The running emulator the settings point at."""
    seed_model: type[BaseModel] | None = None
    """The model of this connector's table in a seed fixture (``notion-sync emulate --seed``,
    docs/emulators.md); None: the emulator takes no seed section."""

    def seed(self, section: Any) -> None:
        """Add a seed fixture's table (already validated by ``seed_model``) to the running
        emulator: calendars, boards, channels. Raise ``ValueError`` naming what does not fit."""
        raise ValueError(f"{type(self).__name__} takes no seed section")

    def credentials(self) -> dict[str, str]:
        """What the emulator accepts, for ``notion-sync emulate``'s listing: by default ``env``
        (the fake tokens the settings read); an emulator that accepts any token says so here."""
        return dict(self.env)

    @property
    def faults(self) -> Faults:
        """The running emulator's fault knobs, so generic code (the conformance suite) can inject
        a 429, a 5xx or a dropped connection into any connector's service."""
        return self.emulator.faults

    def write_request(self, kind: OperationKind) -> tuple[str | None, str] | None:
        """The request an operation of ``kind`` writes its item with: (its HTTP method, or None for
        any, and a regex on its path). The conformance suite injects its faults there; None, the
        default, means the operation's first request, whatever it is."""
        return None

    def edit_as_user(self, page_id: str, field: str) -> None:
        """Change write-back ``field`` of the item for ``page_id`` as a person would in the
        service (move a card to another list of the mapping, an event to the next day), for the
        conformance suite's write-back tests and the demo. A connector declaring
        ``write_back_fields`` implements it for each of them."""
        raise NotImplementedError(f"{type(self).__name__} cannot edit items as a user")

    @abstractmethod
    def items(self) -> dict[str, str]:
        """What the target holds now, live items only (not archived, deleted or struck):
        Notion page id (as the marker on the item says) -> the item's main text."""

    def item_count(self) -> int:
        """How many live items the target holds, duplicates included. Override it: the default,
        ``len(items())``, cannot see two items for one page."""
        return len(self.items())

    def render(self) -> Any:
        """A rich renderable of what the target holds, for the demo."""
        from rich.table import Table

        table = Table("page", "item")
        for page_id, text in sorted(self.items().items(), key=lambda kv: kv[1]):
            table.add_row(page_id[:8], text)
        return table

    @abstractmethod
    def close(self) -> None:
        """Stop the emulator."""
