"""Discriminator stabilisers: the R1 gradient penalty (Mescheder et al. 2018, "Which training
methods for GANs do actually converge?", arXiv:1801.04406) and spectral normalisation
(Miyato et al. 2018, arXiv:1802.05957, from torch.nn.utils.parametrizations)."""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import spectral_norm


def r1_penalty(pred_real: torch.Tensor, real_input: torch.Tensor) -> torch.Tensor:
    """0.5 * E[||grad_x D(x)||^2] on real inputs (``real_input`` must require grad)."""
    (grad,) = torch.autograd.grad(pred_real.sum(), real_input, create_graph=True)
    return 0.5 * grad.pow(2).flatten(1).sum(1).mean()


def apply_spectral_norm(net: nn.Module) -> nn.Module:
    """Spectral-normalise every convolution and linear layer of ``net`` in place."""
    for m in list(net.modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear)) and not hasattr(m, "parametrizations"):
            spectral_norm(m)
    return net


__all__ = ["apply_spectral_norm", "r1_penalty"]
