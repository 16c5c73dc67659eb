"""AlphaDropout and FeatureAlphaDropout (for SELU networks): identity in eval mode."""
from __future__ import annotations

from ...ops import nn_misc as NM
from ...tensor import Tensor
from .dropout import _DropoutNd


class AlphaDropout(_DropoutNd):
    def forward(self, input: Tensor) -> Tensor:
        return NM.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    def forward(self, input: Tensor) -> Tensor:
        return NM.feature_alpha_dropout(input, self.p, self.training)


__all__ = ["AlphaDropout", "FeatureAlphaDropout"]
