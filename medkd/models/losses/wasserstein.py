"""Wasserstein distance between feature maps."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from medkd.registry import MODELS


@MODELS.register_module()
class WassersteinFeatureLoss(nn.Module):
    """Per-channel 1-D Wasserstein-1 distance between two feature maps.

    Each channel's ``H × W`` map is read as ``M = H·W`` samples of a 1-D
    distribution (every activation value has mass ``1 / M``). The values are
    first normalised per map (``normalize``):

    - ``'minmax'`` (default): ``(v - min v) / (max v - min v + ε)``, values in
      ``[0, 1]``; compares the *shapes* of the activation histograms,
      independent of each network's scale and offset;
    - ``'softmax'``: ``softmax(v)`` over the ``M`` positions (values in
      ``(0, 1)`` summing to 1);
    - ``'none'``: the raw activations.

    With equally many samples, the exact W1 between two such empirical
    distributions is the mean absolute difference of their sorted values
    (the optimal transport matches order statistics), which is
    differentiable through ``torch.sort``:

    .. math::
        W_1(a, b) = \\frac{1}{M} \\sum_{i=1}^{M} |a_{(i)} - b_{(i)}|

        L = w \\cdot \\frac{1}{NC} \\sum_{n,c} W_1(\\mathrm{norm}(f^s_{n,c}),
            \\mathrm{norm}(f^t_{n,c}))

    ``W_1`` equals ``scipy.stats.wasserstein_distance(a, b)``. (The paper's
    ``(inf E[d(f_S, f_A)^p])^{1/p}`` with ``p = 1``.)

    Args:
        normalize (str): ``'minmax'``, ``'softmax'`` or ``'none'``.
            Defaults to ``'minmax'``.
        loss_weight (float): Weight ``w``. Defaults to 1.0.
        eps (float): ``ε`` of the min-max normalisation. Defaults to 1e-6.
    """

    NORMALIZE = ('minmax', 'softmax', 'none')

    def __init__(self,
                 normalize: str = 'minmax',
                 loss_weight: float = 1.0,
                 eps: float = 1e-6):
        super().__init__()
        if normalize not in self.NORMALIZE:
            raise ValueError(f'normalize must be one of {self.NORMALIZE}, '
                             f'got {normalize!r}')
        self.normalize = normalize
        self.loss_weight = loss_weight
        self.eps = eps

    def _normalise(self, values: torch.Tensor) -> torch.Tensor:
        """Normalise ``(N, C, M)`` values along the last axis."""
        if self.normalize == 'minmax':
            low = values.amin(dim=2, keepdim=True)
            high = values.amax(dim=2, keepdim=True)
            return (values - low) / (high - low + self.eps)
        if self.normalize == 'softmax':
            return F.softmax(values, dim=2)
        return values

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            student (Tensor): ``(N, C, H, W)`` student (or connector) maps.
            teacher (Tensor): ``(N, C, H, W)`` teacher maps, same shape.
        """
        if student.shape != teacher.shape:
            raise ValueError(
                'WassersteinFeatureLoss expected student and teacher maps of '
                f'the same shape, found {tuple(student.shape)} and '
                f'{tuple(teacher.shape)} (use a connector to align them).')
        s_sorted = self._normalise(student.flatten(2)).sort(dim=2).values
        t_sorted = self._normalise(teacher.flatten(2)).sort(dim=2).values
        w1 = (s_sorted - t_sorted).abs().mean(dim=2)
        return self.loss_weight * w1.mean()
