"""Network architectures (PyTorch; needs the ``train`` extra). Inference never imports this.

An architecture is an ``nn.Module`` class returning one logit per class (a regression
architecture, ``output_kind = "regression"``: one value per target), with a ``config`` dict
of its constructor's arguments. It registers with ``@ARCHITECTURES.register(NAME)`` beside its
definition; plugins add more (entry-point group ``popgen_hub.models``). Class attributes declare
what it reads (:class:`ArchitectureSpec` gives the defaults a plugin may leave out):

- ``encoder``: the encoder it reads (default: the one its dataset was stored with);
- ``inputs``: the encoder's tensors it takes as positional arguments, in order (one-input
  architectures get the encoder's one tensor whatever its name);
- ``sizes_from(shapes)``: a classmethod giving the constructor's size arguments from the
  encoder's tensor shapes (default: ``n_rows`` and ``n_cols`` of the one image, (1, rows, cols));
- ``regularisation()``: a penalty the trainer adds to the loss (default: none);
- ``training_window(encoder, block, window, rng)``: a static method encoding one training
  replicate, when training must not see it as a scan would (default: the encoder's
  ``encode``), e.g. a random number of its individuals (:mod:`.exchangeable`).
"""

from . import exchangeable, imagene_cnn, imagene_stats, relernn_gru, stats_fc, temporal, vae  # noqa: F401  (the built-ins register on import)
from .base import (
    ARCHITECTURES,
    ArchitectureSpec,
    build_model,
    default_sizes,
    get_architecture,
    regularisation,
)

__all__ = ["ARCHITECTURES", "ArchitectureSpec", "build_model",
           "default_sizes", "get_architecture", "regularisation"]
