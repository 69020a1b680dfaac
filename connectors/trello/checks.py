"""``notion-sync check`` for Trello: key and token, the board, its lists, write access (all read-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from notion_sync.sdk import CheckResult, ItemError, MappingContext, NotionSyncError, RetryableError

from .settings import TrelloMapping

if TYPE_CHECKING:
    from .connector import Board, TrelloConnector

__all__ = ["check"]


def check(connector: TrelloConnector, mapping: MappingContext[TrelloMapping]) -> list[CheckResult]:
    """Key and token valid, board reachable, mapped lists exist, token can write (all read-only)."""
    results: list[CheckResult] = []
    try:
        me = connector.call("check token", "members/me", query={"fields": "id,username,fullName"})
    except RetryableError as exc:
        # Not the token's fault: nothing (or only errors) came back from Trello.
        url = connector.settings.base_url
        results.append(
            CheckResult(
                "Trello key and token",
                False,
                f"Trello is unreachable at {url}: {exc}",
                fix=f"Check the network connection to {url} (and trello.base_url), then run check again.",
            )
        )
        return results
    except NotionSyncError as exc:
        results.append(
            CheckResult(
                "Trello key and token",
                False,
                str(exc),
                fix="Set trello.api_key_env/trello.token_env (or *_file) to a valid key and token.",
                access=not isinstance(exc, ItemError),
            )
        )
        return results
    results.append(CheckResult("Trello key and token", True, f"valid, for @{me.get('username')}"))
    try:
        board = connector.load_board(mapping.settings)
    except NotionSyncError as exc:
        results.append(
            CheckResult(
                f"board {mapping.settings.board}",
                False,
                str(exc),
                fix="Set board to the URL of a board the token's member can open.",
            )
        )
        return results
    results.append(CheckResult(f"board {board.name!r}", True, board.url))
    missing = connector.missing_lists(board, mapping.settings)
    if missing:
        results.append(
            CheckResult(
                "lists",
                False,
                f"no list named {', '.join(repr(m) for m in missing)}; the board's lists are: "
                f"{', '.join(repr(n) for n in board.lists) or '(none)'}",
                fix="Fix lists/default_list in the mapping, or add the lists to the board.",
                access=False,
            )
        )
    else:
        results.append(CheckResult("lists", True, ", ".join(mapping.settings.list_names())))
    results.append(_check_write(connector, board, str(me.get("id", ""))))
    return results


def _check_write(connector: TrelloConnector, board: Board, member_id: str) -> CheckResult:
    # Read-only on purpose: a test write would show in the board's activity feed and
    # notify its members. The token's own permissions say whether it was granted
    # write scope; the board's memberships say whether its member is an observer.
    name = "token can write to the board"
    try:
        token = connector.call(
            "read token permissions", f"tokens/{connector.token.reveal()}", query={"fields": "permissions"}
        )
        memberships = connector.call(
            "read board memberships", f"boards/{board.id}/memberships", query={"filter": "all"}
        )
    except NotionSyncError as exc:
        return CheckResult(name, False, str(exc), fix="Use a token generated with scope=read,write.")
    if not any(_grants_write(p, board) for p in token.get("permissions", [])):
        return CheckResult(
            name,
            False,
            "the token was granted read access only",
            fix=f"Generate a new token with scope=read,write and put it in {_token_place(connector)}.",
        )
    mine = next((m for m in memberships if m.get("idMember") == member_id), None)
    if mine is None:
        return CheckResult(
            name,
            False,
            "the token's member is not a member of the board",
            fix="Add the member to the board (Share > invite).",
        )
    if mine.get("memberType") == "observer":
        return CheckResult(
            name,
            False,
            "the token's member is an observer of the board and cannot edit cards",
            fix="Make the member a normal board member or an admin.",
        )
    return CheckResult(name, True, f"write scope, board {mine.get('memberType')}")


def _grants_write(permission: dict[str, object], board: Board) -> bool:
    """Whether one of the token's permissions lets it write to ``board``. Trello capitalises model
    types ("Board", "Organization") and its docs show ``"*"`` for both the type and the id."""
    if not permission.get("write"):
        return False
    model_type = str(permission.get("modelType", "")).lower()
    model_id = str(permission.get("idModel", ""))
    wanted = {"board": board.id, "organization": board.id_organization}
    return any(
        model_type in (kind, "*") and wanted_id is not None and model_id in ("*", wanted_id)
        for kind, wanted_id in wanted.items()
    )


def _token_place(connector: TrelloConnector) -> str:
    """Where the token was read from, as the user configured it (never the token itself)."""
    s = connector.settings
    if s.token_keyring:
        return f"the keyring entry {s.token_keyring} (trello.token_keyring)"
    if s.token_file:
        return f"the file {s.token_file} (trello.token_file)"
    if s.token:
        return "trello.token_env or trello.token_file (not inline trello.token)"
    return f"the environment variable {s.token_env or 'TRELLO_TOKEN'} (trello.token_env)"
