"""Every command: a console script next to its ``python -m`` form, ``--quiet`` and ``--verbose``."""

from __future__ import annotations

import importlib
import logging
import tomllib
from pathlib import Path

import pytest

from lensing.cli import configure_logging

REPO = Path(__file__).resolve().parents[2]
COMMANDS = {
    "lens-search-classify": "search.classify",
    "lens-search-superres": "search.superres",
    "lens-search-leaderboard": "results.leaderboard",
    "lens-search-retrain": "results.retrain",
    "lens-search-evaluate": "results.evaluate",
    "lens-search-plots": "results.plots",
    "lens-search-predict": "results.predict",
    "lens-search-dashboard": "results.dashboard",
    "lens-search-simulate": "lensing.simulate",
    "lens-search-inspect": "lensing.inspect",
}


def test_console_scripts_point_at_each_module_cli() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {name: f"{module}:cli" for name, module in COMMANDS.items()}
    for module in COMMANDS.values():
        assert callable(importlib.import_module(module).cli)


@pytest.mark.parametrize("module", sorted(set(COMMANDS.values()) - {"search.classify"}))
def test_every_command_has_quiet_and_verbose(
    module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if module == "search.superres":
        from experiments.tasks import TASKS
        from search.cli import build_parser

        text = build_parser(TASKS["superres"]).format_help()
    else:
        with pytest.raises(SystemExit) as exit_info:
            importlib.import_module(module).main(["--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
    assert "--quiet" in text and "--verbose" in text


def test_verbosity_sets_what_the_console_shows(capsys: pytest.CaptureFixture[str]) -> None:
    from lensing.cli import OneLineParser

    logger = logging.getLogger("lensing.simulate")
    try:
        for flag, shown in ((["-q"], set()), ([], {"info"}), (["--verbose"], {"info", "debug"})):
            OneLineParser(prog="x").parse_args(flag)
            logger.debug("debug")
            logger.info("info")
            assert set(capsys.readouterr().err.split()) == shown, flag
    finally:
        configure_logging()
