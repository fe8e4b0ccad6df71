"""``mrrml fit|validate|test|predict``: Lightning's CLI over the reward-model module and data module.

Every option comes from the signatures (and docstrings) of :class:`RewardModelModule`,
:class:`RewardDataModule`, the Trainer and two always-on callbacks: ``export`` (the mrrml model
directory next to checkpoints and at the end of fit) and ``predictions`` (JSON Lines of ``predict``).
A config file is the usual entry point: ``mrrml fit -c configs/tiny-cpu.yaml``; ``--print_config``
prints the full resolved config, which round-trips as a config file. Configs are read in the
``omegaconf`` parser mode of every mrrml command, so a value may interpolate another (``${...}``).
"""

from __future__ import annotations

import os
import sys
import warnings
from operator import attrgetter
from typing import Any

from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from ..data.datamodule import RewardDataModule
from ..training.callbacks import ModelDirExport, PredictionWriter, ProgressLog
from ..training.module import RewardModelModule
from ._parsing import PARSER_MODE

SUBCOMMANDS = ("fit", "validate", "test", "predict")


class MrrmlCLI(LightningCLI):
    """LightningCLI with the matrix shared by model and data, and the mrrml callbacks always present."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # One matrix for heads and data validation: set it once, as model.matrix.
        parser.link_arguments("model.matrix", "data.matrix")
        # The data module encodes with the model's tokenizer and limits, handed over explicitly.
        parser.link_arguments("model", "data.encoder", compute_fn=attrgetter("encoder"), apply_on="instantiate")
        parser.add_lightning_class_args(ModelDirExport, "export")
        parser.add_lightning_class_args(PredictionWriter, "predictions")
        parser.add_lightning_class_args(ProgressLog, "progress")


def build_cli(
    argv: list[str], run: bool = True, cli_class: type[MrrmlCLI] = MrrmlCLI, **parser_kwargs: Any
) -> MrrmlCLI:
    """The CLI for ``argv`` (``[subcommand, *args]`` when ``run``, plain args when not).

    ``parser_kwargs`` go to the parser (``mrrml demo`` gives its prog, description and default config)."""
    parser_kwargs = {"parser_mode": PARSER_MODE, **parser_kwargs}
    if run:  # Lightning gives each sub-command a parser of its own
        parser_kwargs.update({name: dict(parser_kwargs) for name in SUBCOMMANDS})
    with warnings.catch_warnings():
        # The `mrrml` entry point hands LightningCLI the same argv it also finds in sys.argv; not a mistake.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        return cli_class(
            RewardModelModule,
            RewardDataModule,
            args=argv,
            run=run,
            seed_everything_default=0,
            save_config_kwargs={"overwrite": True},
            auto_configure_optimizers=False,
            parser_kwargs=parser_kwargs,
        )


def run(argv: list[str]) -> int:
    """Entry point from the command table: ``argv = [fit|validate|test|predict, *options]``."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not argv or argv[0] not in SUBCOMMANDS:
        print(f"usage: mrrml {{{','.join(SUBCOMMANDS)}}} -c CONFIG [options]", file=sys.stderr)
        return 2
    try:
        build_cli(argv)
    except SystemExit as done:  # --help / --print_config / argument errors exit through argparse
        return int(done.code or 0) if not isinstance(done.code, str) else 2
    return 0
