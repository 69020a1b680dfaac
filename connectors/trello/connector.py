"""The Trello connector: one card per row, in the list the row's status picks.

Per run and mapping, ``prepare`` reads the board, its open lists and its labels (three
GETs). Each card write is then ONE request with the full field set through
``TrelloClient.fetch_json``: no per-field setters and no read-back. ``recover`` finds
cards by the marker on their description's last line with one bulk read of the board.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from trello import TrelloClient

from notion_sync.sdk import (
    AccessError,
    CheckResult,
    ConfigError,
    Connector,
    DesiredItem,
    EmulatedTarget,
    ExternalRef,
    FatalError,
    ItemError,
    Link,
    MappingContext,
    NotionSyncError,
    Operation,
    OperationResult,
    RetryableError,
    Row,
    Secret,
    Starter,
    TargetChanges,
    TargetItem,
    WriteBackProblem,
    call_with_retry,
    pace_key,
)

from . import checks, spec, write_back
from .checklist import sync_checklist
from .client import TrelloTransport, build_client, credentials
from .errors import NotFound, classify, is_ambiguous
from .markers import card_desc, parse_marker, strip_marker
from .render import render_card
from .settings import TrelloMapping, TrelloSettings
from .settings import starter as settings_starter

__all__ = ["Board", "TrelloConnector", "board_ref"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_BOARD_URL = re.compile(r"^(?:https?://)?(?:www\.)?trello\.com/b/(?P<short>[A-Za-z0-9]+)")


def board_ref(value: str) -> str:
    """The id or short link to ask Trello for, from a board id, short link or URL."""
    match = _BOARD_URL.match(value.strip())
    return match["short"] if match else value.strip()


@dataclass
class Board:
    """What ``prepare`` read of a mapping's board: its open lists and its labels, by name."""

    id: str
    name: str
    url: str
    id_organization: str | None
    lists: dict[str, str]
    """Open list name -> id (the first list of that name, left to right)."""
    labels: dict[str, str]
    """Label name -> id (labels without a name are left out)."""
    label_colors: dict[str, str | None] = field(default_factory=dict)
    """Label name -> its colour, as the board has it."""
    missing_labels_reported: set[str] = field(default_factory=set)


class TrelloConnector(Connector[TrelloSettings, TrelloMapping]):
    """Mirror Notion rows into Trello cards, through py-trello."""

    name = spec.name
    summary = spec.summary
    render_is_pure = True
    Settings = spec.Settings
    MappingSettings = spec.MappingSettings
    on_delete_modes = spec.on_delete_modes
    batch_size = 32
    """Operations per ``apply``: enough for ``concurrent_writes`` writers to stay busy."""
    cards_page_size: int = 1000
    """Cards per bulk read in ``recover`` (Trello's maximum)."""
    write_back_fields = spec.write_back_fields

    def __init__(self, settings: TrelloSettings) -> None:
        super().__init__(settings)
        self._client: TrelloClient | None = None
        self._transport: TrelloTransport | None = None
        self._token: Secret | None = None
        self._boards: dict[str, Board] = {}
        """(board id, mapping) -> page id -> card, from this run's one read of the board (``recover``)."""
        self._writers: ThreadPoolExecutor | None = None
        self._labels_lock = threading.Lock()
        """Two concurrent writes needing a label the board lacks must not both create it."""

    # -- client -----------------------------------------------------------------
    @property
    def client(self) -> TrelloClient:
        """The py-trello client, built on first use."""
        if self._client is None:
            key, token = credentials(self.settings)
            s = self.settings
            # One budget per token and one per API key (every connector instance of the run, and
            # the fleet's workers with [celery], share them): keyed on hashes, never the secrets.
            self._transport = TrelloTransport(
                s.base_url,
                self.pacers.pacer("trello-token", s.rate_limit, s.rate_window),
                timeout=s.timeout,
                pace_key=pace_key(s.base_url, token),
                key_pacer=self.pacers.pacer("trello-key", s.key_rate_limit, s.rate_window),
                key_pace_key=pace_key(s.base_url, key),
            )
            self._token = token
            self._client = build_client(key, token, self._transport)
        return self._client

    @property
    def token(self) -> Secret:
        """The token the client was built with (building the client first)."""
        if self._token is None:
            _ = self.client
        assert self._token is not None
        return self._token

    @property
    def requests_sent(self) -> int:
        """HTTP requests this connector has sent (retries included)."""
        return self._transport.sent if self._transport else 0

    def call(
        self,
        what: str,
        path: str,
        method: str = "GET",
        *,
        query: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        client = self.client

        def once() -> Any:
            # fetch_json adds key and token to the dict it is given: pass a fresh one.
            return client.fetch_json(path, http_method=method, query_params=dict(query or {}), post_args=body)

        return call_with_retry(once, classify=classify, what=what, policy=self.retry_policy)

    def _retrying(self, what: str, fn: Callable[[], T]) -> T:
        return call_with_retry(fn, classify=classify, what=what, policy=self.retry_policy)

    # -- board --------------------------------------------------------------------
    def _existing_boards(self) -> str:
        try:
            boards = self.call("list boards", "members/me/boards", query={"filter": "open", "fields": "name,url"})
        except NotionSyncError:
            return "(could not list your boards)"
        names = [f"{b.get('name')!r} ({b.get('url')})" for b in boards]
        return ", ".join(names) if names else "(the token's member has no open boards)"

    def _read_board(self, settings: TrelloMapping) -> dict[str, Any]:
        ref = board_ref(settings.board)
        try:
            board: dict[str, Any] = self.call(
                "read board", f"boards/{ref}", query={"fields": "id,name,closed,url,idOrganization"}
            )
        except RetryableError:
            raise
        except ItemError:  # 404, or 400 "invalid id"
            # As `check` says it: the board is not one the token's member can open (exit 3).
            raise AccessError(
                f"board {settings.board!r} was not found, or the token's member cannot see it. "
                f"Boards the token can see: {self._existing_boards()}. Set board to one of their URLs."
            ) from None
        if board.get("closed"):
            raise ConfigError(
                f"board {board.get('name')!r} ({board.get('url')}) is closed: reopen it or pick another board"
            )
        return board

    def load_board(self, settings: TrelloMapping) -> Board:
        raw = self._read_board(settings)
        board_id = str(raw["id"])
        lists = self.call("read lists", f"boards/{board_id}/lists", query={"filter": "open", "fields": "id,name,pos"})
        labels = self.call("read labels", f"boards/{board_id}/labels", query={"fields": "id,name,color", "limit": 1000})
        by_name: dict[str, str] = {}
        for item in sorted(lists, key=lambda x: x.get("pos", 0)):
            by_name.setdefault(str(item["name"]), str(item["id"]))
        label_ids: dict[str, str] = {}
        label_colors: dict[str, str | None] = {}
        for label in labels:
            if label.get("name") and str(label["name"]) not in label_ids:
                label_ids[str(label["name"])] = str(label["id"])
                label_colors[str(label["name"])] = label.get("color")
        return Board(
            board_id,
            str(raw.get("name", "")),
            str(raw.get("url", "")),
            raw.get("idOrganization"),
            by_name,
            label_ids,
            label_colors=label_colors,
        )

    @staticmethod
    def missing_lists(board: Board, settings: TrelloMapping) -> list[str]:
        return [name for name in settings.list_names() if name not in board.lists]

    def prepare(self, mapping: MappingContext[TrelloMapping]) -> None:
        """Read the board, its lists and labels once; stop before any write if a list is missing."""
        try:
            board = self.load_board(mapping.settings)
        except ItemError as exc:
            raise FatalError(f"could not read board {mapping.settings.board!r}: {exc}") from exc
        missing = self.missing_lists(board, mapping.settings)
        if missing:
            raise ConfigError(
                f"board {board.name!r} has no list named {', '.join(repr(m) for m in missing)}. "
                f"Its lists are: {', '.join(repr(n) for n in board.lists) or '(none)'}. "
                "Fix lists/default_list in the mapping, or add the list to the board."
            )
        self._boards[mapping.name] = board

    def _board(self, mapping: MappingContext[TrelloMapping]) -> Board:
        if mapping.name not in self._boards:
            self.prepare(mapping)
        return self._boards[mapping.name]

    # -- render -------------------------------------------------------------------
    def render(self, row: Row, mapping: MappingContext[TrelloMapping]) -> dict[str, Any]:
        """The card for ``row``: name, description, list, dates, completion and labels."""
        return render_card(row, mapping.settings, mapping.schema)

    # -- writes -------------------------------------------------------------------
    def apply(
        self, operations: Sequence[Operation], mapping: MappingContext[TrelloMapping]
    ) -> Iterator[OperationResult]:
        """Carry out the operations ``concurrent_writes`` at a time, each result as it comes.

        Safe because the engine has recorded an intent for every operation before ``apply``
        (a write cut short is recovered by its marker next run) and each operation is a
        different row's card. A ``FatalError`` stops the operations not yet started; the
        finished ones are still reported, then it propagates."""
        writers = min(self.settings.concurrent_writes, len(operations))
        if writers <= 1:
            yield from super().apply(operations, mapping)
            return
        if self._writers is None:
            self._writers = ThreadPoolExecutor(self.settings.concurrent_writes, thread_name_prefix="trello-write")
        stop = threading.Event()
        futures = [self._writers.submit(self._apply_one, op, mapping, stop) for op in operations]
        fatal: FatalError | None = None
        try:
            for future in as_completed(futures):
                try:
                    yield from future.result()
                except FatalError as exc:
                    fatal = fatal or exc
        finally:  # a fatal error, the engine stopping early, or a bug: start no more writes
            stop.set()
            for other in futures:
                other.cancel()
        if fatal is not None:
            raise fatal

    def _apply_one(
        self, op: Operation, mapping: MappingContext[TrelloMapping], stop: threading.Event
    ) -> list[OperationResult]:
        """One operation, as the default ``apply`` does it; none once another met a fatal error
        (like the default, which reports nothing after it: the intent stays for the next run)."""
        if stop.is_set():
            return []
        try:
            return list(super().apply([op], mapping))
        except FatalError:
            stop.set()
            raise

    def _label_ids(self, payload: dict[str, Any], board: Board, mapping: MappingContext[TrelloMapping]) -> list[str]:
        with self._labels_lock:
            return self._resolve_labels(payload, board, mapping)

    def _resolve_labels(
        self, payload: dict[str, Any], board: Board, mapping: MappingContext[TrelloMapping]
    ) -> list[str]:
        ids: list[str] = []
        colors: dict[str, str | None] = payload.get("label_colors") or {}
        for name in payload.get("labels", []):
            label_id = board.labels.get(name)
            if label_id is None:
                folded = {k.casefold(): v for k, v in board.labels.items()}
                label_id = folded.get(name.casefold())
            if label_id is None and mapping.settings.create_labels:
                label_id = board.labels[name] = self._create_label(board, name, colors.get(name))
            if label_id is None:
                if name not in board.missing_labels_reported:
                    board.missing_labels_reported.add(name)
                    log.warning(
                        "%s: board %r has no label %r; it is left off the cards (add it to the board, "
                        "or set create_labels = true)",
                        mapping.name,
                        board.name,
                        name,
                    )
                continue
            ids.append(label_id)
        return ids

    def _create_label(self, board: Board, name: str, color: str | None) -> str:
        """Create a label; after an ambiguous failure, look for it before posting again."""
        client = self.client
        maybe_written = [False]

        def attempt() -> str:
            if maybe_written[0]:
                labels = client.fetch_json(
                    f"boards/{board.id}/labels", query_params={"fields": "id,name", "limit": 1000}
                )
                found = next((x for x in labels if x.get("name") == name), None)
                if found is not None:
                    return str(found["id"])
            try:
                created = client.fetch_json(
                    f"boards/{board.id}/labels",
                    http_method="POST",
                    query_params={},
                    post_args={"name": name, "color": color},
                )
            except Exception as exc:
                if is_ambiguous(exc):
                    maybe_written[0] = True
                raise
            return str(created["id"])

        return self._retrying(f"create label {name!r}", attempt)

    def _card_body(self, item: DesiredItem, board: Board, mapping: MappingContext[TrelloMapping]) -> dict[str, Any]:
        payload = item.payload
        list_id = board.lists.get(payload["list"])
        if list_id is None:
            raise FatalError(
                f"board {board.name!r} has no list named {payload['list']!r}; its lists are: "
                f"{', '.join(repr(n) for n in board.lists)}"
            )
        return {
            "name": payload["name"],
            "desc": card_desc(payload.get("desc", ""), mapping.name, item.page_id),
            "idList": list_id,
            "idLabels": ",".join(self._label_ids(payload, board, mapping)),
            "due": payload.get("due"),
            "start": payload.get("start"),
            "dueComplete": bool(payload.get("due_complete")),
        }

    def create(self, item: DesiredItem, mapping: MappingContext[TrelloMapping]) -> ExternalRef:
        """Create the card in one POST. After an ambiguous failure (5xx, dropped reply), look for
        the card's marker before posting again, so a retry never makes a second card."""
        board = self._board(mapping)
        body = self._card_body(item, board, mapping)
        body["pos"] = mapping.settings.fields.position
        client = self.client
        maybe_written = [False]

        def attempt() -> str:
            if maybe_written[0]:
                found = self._marked_cards(board, mapping.name, {item.page_id})
                if item.page_id in found:
                    log.info(
                        "%s: the card for %s was created before the failure; not creating it again",
                        mapping.name,
                        item.page_id,
                    )
                    return str(found[item.page_id]["id"])
            try:
                card = client.fetch_json("cards", http_method="POST", query_params={}, post_args=body)
            except Exception as exc:
                if is_ambiguous(exc):
                    maybe_written[0] = True
                raise
            return str(card["id"])

        card_id = self._retrying(f"create card {item.title!r}", attempt)
        if item.payload.get("checklist"):
            sync_checklist(self.call, card_id, item.payload["checklist"])
        return ExternalRef(card_id, {"board": board.id})

    def update(self, link: Link, item: DesiredItem, mapping: MappingContext[TrelloMapping]) -> ExternalRef:
        """Overwrite the card in one PUT; ``closed=false`` restores an archived card.

        A card deleted in Trello is created again, so the row is never left without a card."""
        board = self._board(mapping)
        if (
            "checklist" in item.payload
            and not link.archived
            and _without_checklist(link.payload) == _without_checklist(item.payload)
        ):
            # Only the to-dos changed: the card itself needs no write.
            try:
                sync_checklist(self.call, link.ref.id, item.payload["checklist"])
            except NotFound:
                log.warning("%s: the card of %r was deleted in Trello; creating it again", mapping.name, item.title)
                return self.create(item, mapping)
            return ExternalRef(link.ref.id, {"board": board.id})
        body = self._card_body(item, board, mapping)
        body["closed"] = False
        if link.payload is None or link.payload.get("list") != item.payload.get("list"):
            body["pos"] = mapping.settings.fields.position
        try:
            self.call(f"update card {item.title!r}", f"cards/{link.ref.id}", "PUT", body=body)
        except NotFound:
            log.warning("%s: the card of %r was deleted in Trello; creating it again", mapping.name, item.title)
            return self.create(item, mapping)
        if "checklist" in item.payload and (link.payload or {}).get("checklist") != item.payload["checklist"]:
            sync_checklist(self.call, link.ref.id, item.payload["checklist"])
        return ExternalRef(link.ref.id, {"board": board.id})

    @classmethod
    def reads_body(cls, settings: TrelloMapping) -> bool:
        """The body's to-dos make the checklist (``checklist = true``), as well as ``{body}``."""
        return settings.checklist or super().reads_body(settings)

    def delete(self, link: Link, mode: str, mapping: MappingContext[TrelloMapping]) -> ExternalRef | None:
        """``archive`` closes the card (it can come back), ``delete`` removes it."""
        try:
            if mode == "archive":
                self.call("archive card", f"cards/{link.ref.id}", "PUT", body={"closed": True})
                return link.ref
            if mode == "delete":
                self.call("delete card", f"cards/{link.ref.id}", "DELETE")
                return None
        except NotFound:
            return None
        raise FatalError(f"on_delete = {mode!r} is not a Trello mode; use one of {', '.join(self.on_delete_modes)}")

    # -- recovery -------------------------------------------------------------------
    def _marked_cards(self, board: Board, mapping_name: str, page_ids: set[str] | None) -> dict[str, dict[str, Any]]:
        """The board's cards (archived too) whose marker names this mapping and one of ``page_ids`` (any if None).

        One request per 1000 cards. Where two cards carry the same marker, an open card wins over an archived one."""
        cards: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "fields": "id,name,desc,closed,idList,idLabels,due,start,dueComplete,dateLastActivity",
            "limit": self.cards_page_size,
        }
        while True:
            page = self.call("find marked cards", f"boards/{board.id}/cards/all", query=query)
            cards.extend(page)
            if len(page) < self.cards_page_size:
                break
            # Trello pages by creation: ids are ObjectIds, so the smallest is the oldest card.
            query = {**query, "before": min(str(c["id"]) for c in page)}
        found: dict[str, dict[str, Any]] = {}
        for card in cards:
            mark = parse_marker(str(card.get("desc") or ""))
            if mark is None or mark[0] != mapping_name or (page_ids is not None and mark[1] not in page_ids):
                continue
            best = found.get(mark[1])
            if best is None or (best.get("closed") and not card.get("closed")):
                found[mark[1]] = card
        return found

    def recover(self, items: Sequence[DesiredItem], mapping: MappingContext[TrelloMapping]) -> dict[str, ExternalRef]:
        """Cards written earlier for these rows, found by their marker in one read of the board."""
        if not items:
            return {}
        board = self._board(mapping)
        wanted = {i.page_id for i in items}
        found = {page_id: card for page_id, card in self._run_cards(board, mapping).items() if page_id in wanted}
        return {
            page_id: ExternalRef(str(card["id"]), {"board": board.id}, found=self._found_payload(card, board, mapping))
            for page_id, card in found.items()
        }

    def list_marked(self, mapping: MappingContext[TrelloMapping]) -> dict[str, ExternalRef]:
        """Every open card carrying this mapping's marker, from the run's one read of the board."""
        board = self._board(mapping)
        return {
            page_id: ExternalRef(str(card["id"]), {"board": board.id})
            for page_id, card in self._run_cards(board, mapping).items()
            if not card.get("closed")
        }

    def _run_cards(self, board: Board, mapping: MappingContext[TrelloMapping]) -> dict[str, dict[str, Any]]:
        """The mapping's marked cards, read once per run: the engine calls ``recover`` once per page
        of up to 100 rows, and cards this run creates are recorded and never looked up again."""
        key = (board.id, mapping.name)
        if key not in mapping.run_cache:
            mapping.run_cache[key] = self._marked_cards(board, mapping.name, None)
        cards: dict[str, dict[str, Any]] = mapping.run_cache[key]
        return cards

    @staticmethod
    def _found_payload(
        card: dict[str, Any], board: Board, mapping: MappingContext[TrelloMapping]
    ) -> dict[str, Any] | None:
        """A card read back, in ``render_card``'s form, so that a card already right after a lost
        state file is adopted without a write. None for an archived card: it must be restored.
        Anything read differently from how it was rendered only costs a rewrite."""
        if card.get("closed"):
            return None
        list_names = {list_id: name for name, list_id in board.lists.items()}
        label_names = {label_id: name for name, label_id in board.labels.items()}
        labels = sorted(label_names[i] for i in card.get("idLabels") or [] if i in label_names)
        payload: dict[str, Any] = {
            "name": card.get("name", ""),
            "desc": strip_marker(str(card.get("desc") or "")),
            "list": list_names.get(str(card.get("idList")), ""),
            "due": card.get("due"),
            "start": card.get("start"),
            "due_complete": bool(card.get("dueComplete")),
            "labels": labels,
        }
        if mapping.settings.create_labels and labels:
            payload["label_colors"] = {name: board.label_colors.get(name) for name in labels}
        return payload

    # -- write-back -------------------------------------------------------------------
    @classmethod
    def write_back_problems(
        cls, settings: TrelloMapping, fields: Sequence[str], schema: dict[str, Any] | None
    ) -> list[WriteBackProblem]:
        """A list needs one option per list; dates a date property; a name a single property."""
        return write_back.problems(settings, tuple(fields), schema)

    @classmethod
    def write_back_keys(cls, settings: TrelloMapping, field: str) -> tuple[str, ...]:
        """``due`` covers the card's start and due together."""
        return write_back.KEYS.get(field, (field,))

    def target_changes(
        self, mapping: MappingContext[TrelloMapping], fields: Sequence[str], token: str | None
    ) -> TargetChanges:
        """The board's open marked cards, from the run's one read of the board (the same read
        ``recover`` uses), with ``dateLastActivity`` as their time of change."""
        board = self._board(mapping)
        keys = [k for f in fields for k in self.write_back_keys(mapping.settings, f)]
        items: dict[str, TargetItem] = {}
        for page_id, card in self._run_cards(board, mapping).items():
            found = self._found_payload(card, board, mapping)
            if found is None:
                continue
            stamp = card.get("dateLastActivity")
            modified = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None
            items[page_id] = TargetItem(
                page_id, ExternalRef(str(card["id"]), {"board": board.id}), {k: found.get(k) for k in keys}, modified
            )
        return TargetChanges(items)

    @classmethod
    def notion_values(
        cls, settings: TrelloMapping, schema: dict[str, Any], field: str, values: dict[str, Any], row: Row
    ) -> dict[str, Any]:
        """List → the ``list_from`` option, dates → the date property, and so on (``write_back``)."""
        return write_back.notion_values(settings, schema, field, values, row)

    # -- check ----------------------------------------------------------------------
    def check(self, mapping: MappingContext[TrelloMapping]) -> list[CheckResult]:
        """Key and token valid, board reachable, mapped lists exist, token can write (all read-only)."""
        return checks.check(self, mapping)

    # -- lifecycle --------------------------------------------------------------------
    def close(self) -> None:
        """Stop the writers and close the HTTP sessions."""
        if self._writers is not None:
            self._writers.shutdown(wait=True, cancel_futures=True)
            self._writers = None
        if self._transport is not None:
            self._transport.close()
        self._client = None
        self._transport = None
        self._boards.clear()

    @classmethod
    def starter(cls, schema: dict[str, dict[str, Any]]) -> Starter:
        """What ``notion-sync init`` writes for a new mapping (see ``settings.starter``)."""
        return settings_starter(schema)

    @classmethod
    def emulated(cls) -> EmulatedTarget | None:
        """A Trello emulator with a demo board, and settings that point at it."""
        from .target import TrelloEmulatedTarget

        return TrelloEmulatedTarget.start()


def _without_checklist(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if payload is None else {k: v for k, v in payload.items() if k != "checklist"}
