"""How every command reads argv: jsonargparse parsers from typed signatures, earlier spellings rewritten.

These use the real parsers of the commands (no command runs here; see test_commands.py for runs).
"""

from __future__ import annotations

import pytest

from mrrml.cli import main
from mrrml.cli._parsing import Command, Removed, Renamed, build_parser, modernize

SYNTH_PROG = "mrrml synth"


def _commands() -> dict[str, Command]:
    from mrrml.cli import content, evaluate, export, healthbench, serve, standards, synth

    found = {"synth": synth.COMMAND, "serve": serve.COMMAND, "export": export.COMMAND, "evaluate": evaluate.COMMAND}
    found.update({f"content {name}": c for name, c in content.COMMANDS.items()})
    found.update({f"standards {name}": c for name, c in standards.COMMANDS.items()})
    found.update({f"healthbench {name}": c for name, c in healthbench.COMMANDS.items()})
    return found


def _synth_parser():
    from mrrml.cli.synth import COMMAND

    return build_parser(COMMAND, SYNTH_PROG), COMMAND


def test_earlier_spellings_are_rewritten_with_a_note(capsys):
    parser, command = _synth_parser()
    argv = ["--neutral-rate", "0.2", "--val-frac=0.1", "--base-url", "http://h/v1", "--max-retries", "0", "--out", "o"]
    assert modernize(argv, parser, command.spellings_for(argv), SYNTH_PROG) == [
        "--neutral_rate",
        "0.2",
        "--val_frac=0.1",
        "--generator.base_url",
        "http://h/v1",
        "--generator.max_retries",
        "0",
        "--judge.max_retries",
        "0",
        "--out",
        "o",
    ]
    note = capsys.readouterr().err
    assert "--neutral-rate -> --neutral_rate" in note and "--base-url -> --generator.base_url" in note


def test_synth_model_option_meant_a_directory_or_a_served_model_by_backend():
    parser, command = _synth_parser()
    local = ["--backend", "transformers", "--model", "/models/x"]
    served = ["--backend=openai", "--model", "qwen"]
    assert modernize(local, parser, command.spellings_for(local), SYNTH_PROG)[-2:] == ["--local_model", "/models/x"]
    assert modernize(served, parser, command.spellings_for(served), SYNTH_PROG)[-2:] == ["--generator.model", "qwen"]


def test_bare_boolean_means_true_and_explicit_values_stay():
    parser, _ = _synth_parser()
    assert modernize(["--quiet"], parser, {}, SYNTH_PROG) == ["--quiet", "true"]
    assert modernize(["--quiet", "--n", "5"], parser, {}, SYNTH_PROG) == ["--quiet", "true", "--n", "5"]
    assert modernize(["--quiet", "false"], parser, {}, SYNTH_PROG) == ["--quiet", "false"]
    assert modernize(["--quiet=no"], parser, {}, SYNTH_PROG) == ["--quiet=no"]


def test_values_that_look_like_options_are_left_alone():
    parser, _ = _synth_parser()
    # negative numbers are values; everything after "--" is passed through untouched
    assert modernize(["--seed", "-3"], parser, {}, SYNTH_PROG) == ["--seed", "-3"]
    assert modernize(["--", "--neutral-rate"], parser, {}, SYNTH_PROG) == ["--", "--neutral-rate"]


def test_one_earlier_option_may_set_several_and_a_flag_stands_for_a_value():
    parser, _ = _synth_parser()
    spellings = {"--both": Renamed(("--val_frac", "--test_frac")), "--no-quiet": Renamed(("--quiet",), value="false")}
    assert modernize(["--both", "0.2", "--no-quiet"], parser, spellings, SYNTH_PROG) == [
        "--val_frac",
        "0.2",
        "--test_frac",
        "0.2",
        "--quiet",
        "false",
    ]


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_earlier_spelling_names_a_real_option(name):
    command = _commands()[name]
    options = set(build_parser(command, f"mrrml {name}")._option_string_actions)
    for argv in ([], ["--backend", "transformers"]):
        for old, change in command.spellings_for(argv).items():
            assert isinstance(change, Renamed), (name, old)
            assert set(change.to) <= options, (name, old, change.to)


def test_demo_spellings_name_real_options_and_removed_ones_fail_with_the_new_spelling(capsys):
    from mrrml.cli.demo import SPELLINGS, DemoCLI, build_demo_cli

    class ParseOnly(DemoCLI):
        def instantiate_classes(self) -> None:
            return None

    cli = build_demo_cli(["--epochs", "2", "--batch-size", "4"], cli_class=ParseOnly)
    assert cli.config.trainer.max_epochs == 2 and cli.config.data.batch_size == 4
    options = set(cli.parser._option_string_actions)
    for old, change in SPELLINGS.items():
        assert isinstance(change, Removed) or set(change.to) <= options, old
    assert main(["demo", "--hidden", "32"]) == 2
    err = capsys.readouterr().err
    assert "--hidden is no longer an option of mrrml demo" in err and "--model.backbone.tiny" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["synth"],
        ["serve"],
        ["export"],
        ["evaluate"],
        ["standards", "validate"],
        ["standards", "show"],
        ["standards", "new"],
        ["standards", "schema"],
        ["content", "validate"],
        ["healthbench", "run"],
        ["healthbench", "score"],
        ["healthbench", "rm-preference"],
        ["healthbench", "rm-grader"],
        ["healthbench", "meta-eval"],
    ],
    ids=" ".join,
)
def test_help_is_the_command_docstring(argv, capsys):
    import inspect

    command = _commands()[" ".join(argv)]
    assert main([*argv, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert " ".join(inspect.getdoc(command.function).splitlines()[0].split()) in text
    assert "--config" in text and "--print_config" in text


def test_group_commands_list_their_sub_commands(capsys):
    assert main(["healthbench", "--help"]) == 0
    out = capsys.readouterr().out
    for name in ("run", "score", "rm-preference", "rm-grader", "meta-eval"):
        assert f"  {name}" in out
    assert main(["healthbench", "frobnicate"]) == 2
