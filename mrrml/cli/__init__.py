"""The one command table of ``mrrml``.

Each entry maps a sub-command to the module that implements it. Modules are imported only when
their command runs, so ``mrrml standards validate`` does not pay for importing torch. Every module
exposes ``run(argv: list[str]) -> int`` and parses its options with jsonargparse (see
:mod:`mrrml.cli._parsing`; ``fit`` and its siblings through Lightning's CLI), so every command takes
``--config`` and ``--print_config``. This package is the only place that wires the layers
(standards → data → model → losses → training → eval/serve) together.
"""

from __future__ import annotations

import importlib
import sys

from ..errors import MrrmlError
from ..resources import default_inductor_cache

COMMANDS: dict[str, tuple[str, str]] = {
    "standards": ("mrrml.cli.standards", "author, validate, show and export standards matrices"),
    "synth": ("mrrml.cli.synth", "synthesize triplet data keyed to a standards matrix"),
    "content": ("mrrml.cli.content", "validate the template generator's case bank and phrasing files"),
    "fit": ("mrrml.cli.train", "train a reward model (LightningCLI)"),
    "validate": ("mrrml.cli.train", "run validation (LightningCLI)"),
    "test": ("mrrml.cli.train", "run the test split (LightningCLI)"),
    "predict": ("mrrml.cli.train", "score records with a trained model (LightningCLI)"),
    "healthbench": ("mrrml.cli.healthbench", "evaluate policies, graders and reward models on HealthBench"),
    "evaluate": ("mrrml.cli.evaluate", "reward quality: held-out sets, spurious features, best-of-N, physicians"),
    "serve": ("mrrml.cli.serve", "serve a reward model over HTTP"),
    "export": ("mrrml.cli.export", "export a reward model for serving engines (vLLM, ...)"),
    "demo": ("mrrml.cli.demo", "the main job on the embedded default: synthesize, train, evaluate, report"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: mrrml COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run 'mrrml COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"mrrml: unknown command '{name}'\n\n{_usage()}", file=sys.stderr)
        return 2
    # Before any command module: importing Lightning or transformers fixes Inductor's cache directory.
    default_inductor_cache()
    module = importlib.import_module(COMMANDS[name][0])
    try:
        # The Lightning sub-commands share one module, which needs to know which one was asked for.
        args = [name, *rest] if COMMANDS[name][0] == "mrrml.cli.train" else rest
        return int(module.run(args) or 0)
    except MrrmlError as error:
        print(f"mrrml {name}: error: {error}", file=sys.stderr)
        return 1
    except SystemExit as done:  # --help, --print_config and option errors end inside the parser
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 2)


if __name__ == "__main__":
    sys.exit(main())
