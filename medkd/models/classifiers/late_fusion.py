"""Late fusion: M single-modality classifiers, probabilities averaged.

The strong baseline (and the MM-MIMO teachers) of seed 002: member ``m``
sees only slot ``m`` of the packed multimodal input.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample

from medkd.models.head_kind import head_num_classes
from medkd.registry import MODELS
from medkd.utils.checkpoint import load_classifier_weights


@MODELS.register_module()
class LateFusionClassifier(BaseModel):
    """Average the softmax outputs of M single-modality classifiers.

    .. math::
        \\bar p = \\frac{1}{M} \\sum_m \\mathrm{softmax}(f_m(x_m))

    where ``x_m`` is slot ``m`` of the packed ``(N, ΣC, H, W)`` input.
    ``mode='tensor'`` returns ``log p̄`` ``(N, C)`` (logits whose softmax is
    ``p̄``, so a late-fusion model can be a distillation teacher);
    ``predict`` sets ``pred_score = p̄`` and ``pred_score_<member>`` per
    member; ``loss`` is the sum of the members' own losses
    (``loss_<member>``), i.e. M independent trainings in one run.

    Args:
        members (dict): ``{name: dict(model=<classifier cfg>, ckpt=<path or
            None>)}`` in slot order. A member with ``ckpt`` is loaded from
            it at build time and again by ``init_weights``.
        slot_channels (Sequence[int], optional): Channels of each slot.
            Defaults to 3 per member.
        data_preprocessor (dict, optional): Defaults to
            ``ClsDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 members: dict,
                 slot_channels: Optional[Sequence[int]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'ClsDataPreprocessor')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not members:
            raise ValueError('LateFusionClassifier needs at least one member')
        slot_channels = tuple(slot_channels or (3, ) * len(members))
        if len(slot_channels) != len(members):
            raise ValueError(f'slot_channels {slot_channels} has '
                             f'{len(slot_channels)} entries for '
                             f'{len(members)} members {list(members)}.')
        self.slot_channels = slot_channels
        self.members = nn.ModuleDict()
        self.member_ckpts: Dict[str, Optional[str]] = {}
        for name, cfg in members.items():
            key = f'members.{name}'
            if not isinstance(cfg, dict) or 'model' not in cfg:
                raise TypeError(f'{key} must be dict(model=<classifier cfg>, '
                                f'ckpt=<path or None>), got {cfg!r}')
            self.members[name] = MODELS.build(cfg['model'])
            self.member_ckpts[name] = cfg.get('ckpt')
            if cfg.get('ckpt'):
                load_classifier_weights(self.members[name], cfg['ckpt'], key)
        counts = {
            name: head_num_classes(m)
            for name, m in self.members.items()
        }
        if len(set(counts.values())) != 1:
            raise ValueError('The late-fusion members must predict the same '
                             f'classes; their head.num_classes are {counts}.')
        self.num_classes = next(iter(counts.values()))

    def slot_slice(self, slot: int) -> slice:
        """The channels of slot ``slot`` in the packed input."""
        start = sum(self.slot_channels[:slot])
        return slice(start, start + self.slot_channels[slot])

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        if inputs.size(1) != sum(self.slot_channels):
            raise ValueError(
                f'LateFusionClassifier expected {sum(self.slot_channels)} '
                f'input channels (slots {self.slot_channels}), got '
                f'{inputs.size(1)}.')
        if mode == 'tensor':
            return torch.log(self.member_probs(inputs).mean(dim=1))
        if mode == 'loss':
            return {
                f'loss_{name}':
                member.loss(inputs[:, self.slot_slice(m)],
                            data_samples)['loss']
                for m, (name, member) in enumerate(self.members.items())
            }
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def member_probs(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, M, C)`` softmax outputs of the members on their slots."""
        return torch.stack([
            F.softmax(
                member(inputs[:, self.slot_slice(m)], mode='tensor'), dim=1)
            for m, member in enumerate(self.members.values())
        ],
                           dim=1)

    def predict(
            self,
            inputs: torch.Tensor,
            data_samples: Optional[List[DataSample]] = None
    ) -> List[DataSample]:
        probs = self.member_probs(inputs)
        scores = probs.mean(dim=1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(inputs.size(0))]
        for i, sample in enumerate(data_samples):
            sample.set_pred_score(scores[i]).set_pred_label(
                scores[i].argmax(keepdim=True))
            for m, name in enumerate(self.members):
                sample.set_field(probs[i, m], f'pred_score_{name}')
        return data_samples

    def init_weights(self):
        """Members with a checkpoint are (re)loaded, the others
        initialised."""
        for name, member in self.members.items():
            ckpt = self.member_ckpts[name]
            if ckpt:
                load_classifier_weights(member, ckpt, f'members.{name}')
            else:
                member.init_weights()
