"""Training objectives: GPRC (the geometric projection reference constraints) and the rated-score term."""
from .gprc import GPRCConfig, GPRCOutput, gprc_loss, gprc_loss_reference, rated_loss

__all__ = ["GPRCConfig", "GPRCOutput", "gprc_loss", "gprc_loss_reference", "rated_loss"]
