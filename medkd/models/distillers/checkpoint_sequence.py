"""Multi-part KD: the student follows its teacher's training route."""
from typing import Optional

from mmengine.logging import MMLogger

from medkd.registry import MODELS
from .kd import VanillaKD


@MODELS.register_module()
class CheckpointSequence(VanillaKD):
    """Distil from the checkpoints a teacher passed through while training
    (Garg & Singh, multi-part KD on Kather 2016), one stretch of student
    epochs per checkpoint.

    .. math::
        L = w_{cls} \\cdot \\mathrm{CE}(z_s, y)
            + w_{kd} \\cdot T^2 \\cdot \\mathrm{KL}(p_t^T \\| p_s^T)

    (:class:`VanillaKD`'s loss; the paper's ``λ`` is ``kd_weight`` with
    ``cls_weight = 1 - λ``) logged as ``loss_cls``
    and ``loss_kd``, where the teacher's weights are
    those of the route checkpoint scheduled for the current student epoch.
    The teacher is a :class:`~medkd.models.teachers.RouteTeacher` built
    from the one ``teachers`` entry and ``route`` (its forms: manifest,
    checkpoints + interval, schedule); it moves itself along the route
    through :class:`~medkd.engine.hooks.TeacherSwitchHook`, which the
    runner always registers. ``route=None`` distils from
    ``teachers.<name>.ckpt`` throughout (vanilla KD), with a warning.

    Args:
        student (dict): Student classifier config.
        teachers (dict): Exactly one teacher, see :class:`BaseDistiller`;
            leave its ``ckpt`` unset when a route is given.
        route (dict, optional): The teacher's route, see
            :class:`~medkd.models.teachers.RouteTeacher`.
        cls_weight (float): Weight of the classification loss.
            Defaults to 0.5.
        kd_weight (float): Weight ``λ`` of the distillation term.
            Defaults to 0.5.
        kd_loss (dict, optional): Soft-label loss config, any of
            :class:`VanillaKD`'s. Defaults to ``KDLoss`` at ``T = 5`` (the
            paper's) for softmax heads, ``SoftBCELoss`` for sigmoid heads.
        **kwargs: Passed to :class:`BaseDistiller`.
    """

    default_temperature = 5.0

    def __init__(self,
                 student: dict,
                 teachers: dict,
                 route: Optional[dict] = None,
                 cls_weight: float = 0.5,
                 kd_weight: float = 0.5,
                 kd_loss: Optional[dict] = None,
                 **kwargs):
        if not isinstance(teachers, dict) or len(teachers) != 1:
            raise ValueError('CheckpointSequence takes exactly one teacher in '
                             f'`teachers` (its route gives its weights over '
                             f'time), got {list(teachers or {})}')
        self.route_cfg = route
        super().__init__(
            student, teachers,
            cls_weight=cls_weight,
            kd_weight=kd_weight,
            kd_loss=kd_loss,
            **kwargs)
        if route is None:
            (name, teacher), = self.teachers.items()
            MMLogger.get_current_instance().warning(
                'CheckpointSequence has no route (model.route is None): it '
                f'distils from teachers.{name}.ckpt ({teacher.ckpt}) '
                'throughout, i.e. vanilla KD.')

    def build_teacher(self, name: str, cfg: dict, **filled_in):
        """The teacher, a :class:`~medkd.models.teachers.RouteTeacher` on
        ``model.route`` (a plain frozen teacher without a route)."""
        if self.route_cfg is None:
            return super().build_teacher(name, cfg, **filled_in)
        return super().build_teacher(
            name, dict(cfg, type='RouteTeacher', route=self.route_cfg),
            route_key='model.route', **filled_in)
