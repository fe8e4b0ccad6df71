"""Data: prompts and record formats, encoding, batching and packing, the Lightning data module, and the
synthetic generator (:mod:`mrrml.data.synth`)."""

from __future__ import annotations

from .._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "Prompt": ".chat",
        "check_prompt": ".chat",
        "TripletRecord": ".records",
        "PairRecord": ".records",
        "RatedRecord": ".records",
        "read_records": ".records",
        "write_records": ".records",
        "ConversationEncoder": ".encoder",
        "RewardDataModule": ".datamodule",
        "DataSource": ".datamodule",
    },
)
