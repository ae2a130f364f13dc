"""Every command: a console script next to its ``python -m`` form, ``--quiet`` and ``--verbose``."""

from __future__ import annotations

import importlib
import logging
import tomllib
from pathlib import Path

import pytest

from lens_search._aliases import new_name
from lens_search.cli import configure_logging

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
    assert scripts == {name: f"{new_name(module)}:cli" for name, module in COMMANDS.items()}
    for module in COMMANDS.values():  # the documented `python -m` name is the very same module
        assert importlib.import_module(module) is importlib.import_module(new_name(module))
        assert callable(importlib.import_module(module).cli)


@pytest.mark.parametrize("module", sorted(set(COMMANDS.values()) - {"search.classify"}))
def test_every_command_has_quiet_and_verbose(
    module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if module == "search.superres":
        from lens_search.experiments.tasks import TASKS
        from lens_search.search.cli import build_parser

        text = build_parser(TASKS["superres"]).format_help()
    else:
        with pytest.raises(SystemExit) as exit_info:
            importlib.import_module(module).main(["--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
    assert "--quiet" in text and "--verbose" in text


def test_verbosity_sets_what_the_console_shows(capsys: pytest.CaptureFixture[str]) -> None:
    from lens_search.cli import OneLineParser

    logger = logging.getLogger("lens_search.data.simulate")
    try:
        for flag, shown in ((["-q"], set()), ([], {"info"}), (["--verbose"], {"info", "debug"})):
            OneLineParser(prog="x").parse_args(flag)
            logger.debug("debug")
            logger.info("info")
            assert set(capsys.readouterr().err.split()) == shown, flag
    finally:
        configure_logging()


def test_verbosity_flags_are_accepted_after_a_sub_command_too(tmp_path: Path) -> None:
    """``simulate superres --out X -q`` was refused: -q was accepted only before ``superres``."""
    import subprocess
    import sys

    def simulate(*flags: str, out: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lensing.simulate", *flags, "--pairs", "2", "--workers", "1",
             "--no-progress", "--out", str(tmp_path / out)],
            cwd=REPO, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    loud = simulate("superres", out="loud")
    quiet_after = simulate("superres", "-q", out="after")
    quiet_before = simulate("-q", "superres", out="before")
    assert loud.returncode == 0 and loud.stderr.strip(), loud.stderr  # INFO lines by default
    for quiet, out in ((quiet_after, "after"), (quiet_before, "before")):
        assert quiet.returncode == 0, quiet.stderr
        assert quiet.stderr == "" and quiet.stdout.strip() == str(tmp_path / out)
