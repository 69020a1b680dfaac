"""``python -m notion_sync …`` is ``notion-sync …`` (the console script calls ``main`` here too)."""

import sys


def main() -> None:
    """Run the CLI. ``--version`` answers before the CLI's libraries are imported, for scripts."""
    if sys.argv[1:] == ["--version"]:
        from notion_sync import __version__

        print(f"notion-sync {__version__}")
        return
    from notion_sync.core.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
