"""docs/cli.md stays the reference of the code: it names every option and every earlier spelling."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mrrml.cli._parsing import Renamed, build_parser
from tests.cli.test_parsing import _commands

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
NOT_DOCUMENTED_PER_COMMAND = {"-h", "--help", "-c", "--config", "--print_config"}


@pytest.mark.parametrize("name", sorted(_commands()))
def test_the_reference_names_every_option(name):
    command = _commands()[name]
    parser = build_parser(command, f"mrrml {name}")
    for option, action in parser._option_string_actions.items():
        if option in NOT_DOCUMENTED_PER_COMMAND or "configuration file" in str(action.help):
            continue  # the shared ones, and a group's own config-file option
        assert re.search(rf"`{re.escape(option)}[` ]", DOC) or f"{option}," in DOC, (name, option)


@pytest.mark.parametrize("name", sorted(_commands()))
def test_the_reference_names_every_earlier_spelling(name):
    command = _commands()[name]
    for argv in ([], ["--backend", "transformers"]):
        for old, change in command.spellings_for(argv).items():
            assert f"`{old}`" in DOC or f"`{old}," in DOC or f" {old}`" in DOC, (name, old)
            if isinstance(change, Renamed) and change.announce:
                assert all(new in DOC for new in change.to), (name, old, change.to)


def test_the_reference_names_the_demo_spellings():
    from mrrml.cli.demo import SPELLINGS

    for old in SPELLINGS:
        assert old in DOC, old
