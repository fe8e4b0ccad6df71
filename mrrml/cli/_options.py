"""Command-line options shared by several sub-commands, defined once so their meaning cannot drift."""

from __future__ import annotations

import argparse


def add_trust_remote_code(parser: argparse.ArgumentParser) -> None:
    """``--trust-remote-code``: the only way a loaded model directory may run its own code."""
    parser.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="allow the model directory to run its own code (only for models you trust)",
    )
