"""Variational autoencoders of samples (popvae, Battey, Coffing & Kern 2021, G3 11:jkaa036).

:class:`Vae`: dense encoder and decoder, a diagonal-Gaussian latent (2-D by default), the
reparameterisation trick, trained on the negative ELBO, early stopping on held-out data.
Two uses:

- :func:`fit_popvae`, ``popgen-hub embed --fit``: popvae's recipe on the user's own data: each
  sample's genotypes over the region's SNPs (ALT dosage / ploidy, missing calls at the site's
  mean), binary cross-entropy reconstruction, 20 % of the samples held out for early stopping
  (patience in epochs), seeded. Deviation: popvae's defaults are 6 layers of 128 and patience
  50 over up to 500 epochs; ours are 3 layers of 128, patience 20, to fit small machines.
- the pretrained encoder ``vae.embed_hsap`` (:func:`popgen_hub.embed.train.train_bundled`),
  whose input is a sample's principal-axis scores (:class:`popgen_hub.encoders.PcaScores`), with
  a Gaussian reconstruction. Exported, :class:`EmbeddingHead` gives the latent means then
  their standard deviations.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import PopgenHubError
from .base import ARCHITECTURES


@ARCHITECTURES.register("vae")
class Vae(nn.Module):
    """Dense VAE: ``depth`` ELU layers of ``width`` each way; :meth:`forward` gives the
    latent means and log-variances."""

    encoder = "pca_scores"
    inputs = ("pc_scores",)

    @classmethod
    def sizes_from(cls, shapes: dict[str, tuple[int | None, ...]]) -> dict[str, int]:
        """Refused: a VAE learns no classes; ``popgen-hub train`` builds classifiers."""
        raise PopgenHubError("the vae architecture is trained by `popgen-hub embed --fit` (on "
                             "your data) or exporters/vae.embed_hsap.sh (the bundled "
                             "encoder), not by `popgen-hub train`, which trains classifiers")

    def __init__(self, n_inputs: int, latent: int = 2, width: int = 128, depth: int = 3) -> None:
        super().__init__()
        self.config = {"n_inputs": n_inputs, "latent": latent, "width": width, "depth": depth}

        def stack(first: int, last: int) -> nn.Sequential:
            sizes = [first] + [width] * depth
            layers: list[nn.Module] = []
            for a, b in zip(sizes, sizes[1:], strict=False):
                layers += [nn.Linear(a, b), nn.ELU()]
            return nn.Sequential(*layers, nn.Linear(width, last))

        self.encode = stack(n_inputs, 2 * latent)
        self.decode = stack(latent, n_inputs)
        self.latent = latent

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.encode(x).chunk(2, dim=-1)
        return mean, log_var.clamp(-20, 10)

    def loss(self, x: torch.Tensor, noise_sd: float | None) -> torch.Tensor:
        """Negative ELBO per sample: reconstruction (summed over inputs) plus KL; the
        reconstruction is Bernoulli (``noise_sd`` None) or Gaussian of sd ``noise_sd``."""
        mean, log_var = self(x)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        out = self.decode(z)
        if noise_sd is None:  # popvae: binary cross-entropy of dosages in [0, 1]
            rec = nn.functional.binary_cross_entropy_with_logits(out, x, reduction="none")
        else:
            rec = 0.5 * ((out - x) / noise_sd) ** 2
        kl = -0.5 * (1 + log_var - mean ** 2 - log_var.exp()).sum(-1)
        return (rec.sum(-1) + kl).mean()


class EmbeddingHead(nn.Module):
    """The exported graph: latent means, then standard deviations, (batch, 2 * latent)."""

    def __init__(self, vae: Vae) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:  # as training.export takes it
        mean, log_var = self.vae(inputs[0])
        return torch.cat([mean, (0.5 * log_var).exp()], dim=-1)


@dataclass(frozen=True)
class Fitted:
    """A trained VAE and how training went."""

    vae: Vae
    best_epoch: int
    epochs: int
    train_loss: float
    validation_loss: float


def fit(train: np.ndarray, validation: np.ndarray, *, noise_sd: float | None, seed: int,
        latent: int = 2, width: int = 128, depth: int = 3, max_epochs: int = 300,
        patience: int = 20, batch_size: int = 32, learning_rate: float = 1e-3,
        threads: int = 1) -> Fitted:
    """Adam on the negative ELBO; the weights of the epoch with the lowest validation loss
    are kept, training stops ``patience`` epochs after it (seeded: data order, weights and
    latent draws)."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    vae = Vae(train.shape[1], latent, width, depth)
    optimiser = torch.optim.Adam(vae.parameters(), lr=learning_rate)
    x_train, x_val = torch.from_numpy(train), torch.from_numpy(validation)
    best = (np.inf, 0, copy.deepcopy(vae.state_dict()), np.inf)
    epoch = 0
    for epoch in range(1, max_epochs + 1):
        vae.train()
        order = torch.from_numpy(rng.permutation(len(train)))
        losses = []
        for start in range(0, len(train), batch_size):
            batch = x_train[order[start:start + batch_size]]
            optimiser.zero_grad()
            loss = vae.loss(batch, noise_sd)
            loss.backward()
            optimiser.step()
            losses.append(loss.item() * len(batch))
        vae.eval()
        with torch.no_grad():
            val = float(vae.loss(x_val, noise_sd))
        if val < best[0]:
            best = (val, epoch, copy.deepcopy(vae.state_dict()), sum(losses) / len(train))
        elif epoch - best[1] >= patience:
            break
    vae.load_state_dict(best[2])
    vae.eval()
    return Fitted(vae, best[1], epoch, best[3], best[0])


def embed_with(vae: Vae, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latent means and standard deviations of ``x``'s rows."""
    with torch.no_grad():
        out = EmbeddingHead(vae)(torch.from_numpy(np.ascontiguousarray(x, np.float32))).numpy()
    return out[:, :vae.latent], out[:, vae.latent:]


def fit_popvae(genotypes: np.ndarray, *, seed: int = 0, latent: int = 2, **options: Any
               ) -> Fitted:
    """popvae on a (samples, SNPs) matrix of dosages in [0, 1]: a seeded 20 % of the samples
    held out for early stopping (at least 2)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(genotypes))
    n_val = max(2, round(0.2 * len(genotypes)))
    return fit(genotypes[order[n_val:]], genotypes[order[:n_val]], noise_sd=None, seed=seed,
               latent=latent, **options)

