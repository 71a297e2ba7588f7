"""KL divergence between spatial-softmax feature maps."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from medkd.registry import MODELS


@MODELS.register_module()
class FeatureKLLoss(nn.Module):
    """KL divergence between the spatial distributions of two feature maps.

    Each channel's ``H × W`` map becomes a distribution over the ``H·W``
    positions by a spatial softmax at temperature ``τ``; the loss is the KL
    divergence of the teacher's from the student's, summed over positions
    and averaged over channels and the batch:

    .. math::
        p^{t}_{n,c} = \\mathrm{softmax}_{hw}(f^{t}_{n,c} / \\tau), \\quad
        p^{s}_{n,c} = \\mathrm{softmax}_{hw}(f^{s}_{n,c} / \\tau)

        L = w \\cdot \\frac{1}{NC} \\sum_{n,c} \\sum_{hw} p^{t}_{n,c,hw}
            \\log \\frac{p^{t}_{n,c,hw}}{p^{s}_{n,c,hw}}

    (The teacher-assistant paper's ``E[log f_T / f_A]`` between the
    teacher's and the assistant's feature maps.)

    Args:
        temperature (float): Spatial softmax temperature ``τ``.
            Defaults to 1.0.
        loss_weight (float): Weight ``w``. Defaults to 1.0.
    """

    def __init__(self, temperature: float = 1.0, loss_weight: float = 1.0):
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            student (Tensor): ``(N, C, H, W)`` student (or connector) maps.
            teacher (Tensor): ``(N, C, H, W)`` teacher maps, same shape.
        """
        if student.shape != teacher.shape:
            raise ValueError(
                'FeatureKLLoss expected student and teacher maps of the same '
                f'shape, found {tuple(student.shape)} and '
                f'{tuple(teacher.shape)} (use a connector to align them).')
        log_p_s = F.log_softmax(student.flatten(2) / self.temperature, dim=2)
        log_p_t = F.log_softmax(teacher.flatten(2) / self.temperature, dim=2)
        kl = F.kl_div(log_p_s, log_p_t, reduction='none',
                      log_target=True).sum(dim=2)
        return self.loss_weight * kl.mean()
