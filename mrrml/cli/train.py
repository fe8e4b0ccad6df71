"""``mrrml fit|validate|test|predict``: Lightning's CLI over the reward-model module and data module.

Every option comes from the signatures (and docstrings) of :class:`RewardModelModule`,
:class:`RewardDataModule`, the Trainer and two always-on callbacks: ``export`` (the mrrml model
directory next to checkpoints and at the end of fit) and ``predictions`` (JSON Lines of ``predict``).
A config file is the usual entry point: ``mrrml fit -c configs/tiny-cpu.yaml``; ``--print_config``
prints the full resolved config, which round-trips as a config file.
"""

from __future__ import annotations

import os
import sys
import warnings

from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from ..data.datamodule import RewardDataModule
from ..resources import default_inductor_cache
from ..training.callbacks import ModelDirExport, PredictionWriter
from ..training.module import RewardModelModule

SUBCOMMANDS = ("fit", "validate", "test", "predict")


class MrrmlCLI(LightningCLI):
    """LightningCLI with the matrix shared by model and data, and the mrrml callbacks always present."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # One matrix for heads and data validation: set it once, as model.matrix.
        parser.link_arguments("model.matrix", "data.matrix")
        parser.add_lightning_class_args(ModelDirExport, "export")
        parser.add_lightning_class_args(PredictionWriter, "predictions")


def build_cli(argv: list[str], run: bool = True) -> MrrmlCLI:
    """The CLI for ``argv`` (``[subcommand, *args]`` when ``run``, plain args when not)."""
    with warnings.catch_warnings():
        # The `mrrml` entry point hands LightningCLI the same argv it also finds in sys.argv; not a mistake.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        return MrrmlCLI(
            RewardModelModule,
            RewardDataModule,
            args=argv,
            run=run,
            seed_everything_default=0,
            save_config_kwargs={"overwrite": True},
            auto_configure_optimizers=False,
        )


def run(argv: list[str]) -> int:
    """Entry point from the command table: ``argv = [fit|validate|test|predict, *options]``."""
    default_inductor_cache()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not argv or argv[0] not in SUBCOMMANDS:
        print(f"usage: mrrml {{{','.join(SUBCOMMANDS)}}} -c CONFIG [options]", file=sys.stderr)
        return 2
    try:
        build_cli(argv)
    except SystemExit as done:  # --help / --print_config / argument errors exit through argparse
        return int(done.code or 0) if not isinstance(done.code, str) else 2
    return 0
