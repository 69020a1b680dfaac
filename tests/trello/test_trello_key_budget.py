"""Trello's per-key budget: several tokens under one API key share its 300 requests per 10 s.

Four processes, each with its own token under one key, sync one mapping each at the same time
with ``[celery]`` configured, so their pacers share Redis. The emulator's windows are scaled to
1 s (20 per token, 60 per key: Trello's ratios), the connector paces at 90% of each. With the
per-key pacer the emulator refuses nothing for the key; with it set out of reach (the control)
the four tokens together go over the key's budget."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from notion_sync.core.plugins import discover
from notion_sync.core.sandbox import Sandbox
from notion_sync.core.testing.servers import RedisServer

REPO = Path(__file__).resolve().parents[2]
TOKENS = 4
ROWS = 100
TOKEN_LIMIT, KEY_LIMIT = (20, 1.0), (60, 1.0)


def sync_with_four_tokens(tmp_path: Path, redis_server: RedisServer, key_rate_limit: int) -> dict[str, Any]:
    """Run four ``notion-sync run --mapping`` processes at once, one token each; the emulator's refusals."""
    redis_server.flush()
    rows = [{"Name": f"Row {i:03}", "Status": "Not started"} for i in range(ROWS)]
    with Sandbox(tmp_path, connectors={"trello": discover().connectors["trello"]}, rows=rows) as box:
        emulator: Any = box.targets["trello"].emulator
        key = box.targets["trello"].env["TRELLO_API_KEY"]
        tokens = [f"trello-token-{i}-0123456789abcdef0123456789abcdef" for i in range(TOKENS)]
        for token in tokens:
            emulator.add_credentials(key, token, username="demo")  # the demo member: on the board
        emulator.token_limit, emulator.key_limit = TOKEN_LIMIT, KEY_LIMIT
        data = box.config_data()
        data["celery"] = {"broker_url_env": "NS_TEST_BROKER"}
        # One write in flight per process: the margin the pacer keeps under the key's budget (6
        # here, scaled down from Trello's 30) must exceed the requests in flight, which Trello
        # counts when they arrive. 4 processes × 4 concurrent writes would be 16 (see the
        # `concurrent_writes` docs); with Trello's real window the margin is 30.
        data["trello"].update(rate_limit=18, key_rate_limit=key_rate_limit, rate_window=1.0, concurrent_writes=1)
        data["mappings"] = [{**data["mappings"][0], "name": f"trello-{i}"} for i in range(TOKENS)]
        box.write_config(data)
        procs = []
        for i, token in enumerate(tokens):
            env = {
                **os.environ,
                "NOTION_SYNC_CONFIG": str(box.config_path),
                "NS_TEST_BROKER": redis_server.url,
                "TRELLO_TOKEN": token,
                "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            }
            cmd = [sys.executable, "-m", "notion_sync", "run", "--mapping", f"trello-{i}"]
            procs.append(
                subprocess.Popen(cmd, cwd=box.workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            )
        outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
        for proc, output in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, output
        return {"refused": dict(emulator.rate_limited), "cards": len(emulator.cards())}


def test_four_tokens_under_one_key_stay_under_the_keys_budget(tmp_path: Path, redis_server: RedisServer) -> None:
    result = sync_with_four_tokens(tmp_path / "paced", redis_server, key_rate_limit=54)
    assert result["cards"] == TOKENS * ROWS, result
    assert result["refused"].get("key", 0) == 0, f"the key's budget was exceeded: {result['refused']}"
    assert result["refused"].get("token", 0) == 0, result["refused"]


def test_control_without_the_key_pacer_the_four_tokens_exceed_the_keys_budget(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    # 4 tokens × 18 per 1 s = 72, over the key's 60: only the per-key pacer keeps them under it.
    result = sync_with_four_tokens(tmp_path / "unpaced", redis_server, key_rate_limit=10_000)
    assert result["cards"] == TOKENS * ROWS, result  # refused requests are sent again: none lost
    assert result["refused"].get("key", 0) > 0, result["refused"]
