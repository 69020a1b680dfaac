"""The conformance suite, on a connector the core knows nothing of (tests/support/memo.py)."""

from notion_sync.core.testing.conformance import ConformanceSuite
from tests.support.memo import MemoConnector


class TestMemoConformance(ConformanceSuite):
    connector = MemoConnector


class TestMemoConformanceArchiving(ConformanceSuite):
    """The same suite with on_delete = "archive": trashed rows archive, restored rows unarchive."""

    connector = MemoConnector
    mapping_overrides = {"on_delete": "archive"}
