"""A console that shows the metrics that matter; every metric still goes
to the JSON / visualiser logs."""
import re
from typing import Sequence

from mmengine.runner import LogProcessor

from medkd.registry import LOG_PROCESSORS


@LOG_PROCESSORS.register_module()
class MedKDLogProcessor(LogProcessor):
    """mmengine's ``LogProcessor`` whose validation / test lines on the
    console list only ``console_metrics``.

    ``MedicalMetric`` reports 20 to 60 values per evaluation (macro and
    weighted precision / recall / F1 / specificity, per-label AUCs, CIs),
    which makes each console line hundreds of characters long. The returned
    ``tag`` (what ``LoggerHook`` writes to ``vis_data/*.json`` and the
    visualiser backends) keeps every value; only the printed string is
    shortened. Set ``console_metrics=None`` for mmengine's full lines.

    Args:
        console_metrics (Sequence[str], optional): Metric names (without the
            ``medical/`` or other prefix) shown on the console, when
            reported. Defaults to accuracy, weighted F1, AUC (and the
            multi-label mean AUC), the binary sensitivity and specificity,
            ECE and the teachers' accuracy.
        **kwargs: Arguments of :class:`mmengine.runner.LogProcessor`.
    """

    DEFAULT_CONSOLE_METRICS = ('accuracy', 'f1_weighted', 'auc', 'auc_mean',
                               'sensitivity', 'specificity', 'ece')

    def __init__(self,
                 console_metrics: Sequence[str] = DEFAULT_CONSOLE_METRICS,
                 **kwargs):
        super().__init__(**kwargs)
        self.console_metrics = (None if console_metrics is None else
                                tuple(console_metrics))

    def get_log_after_epoch(self, runner, batch_idx, mode,
                            with_non_scalar=False):
        tag, log_str = super().get_log_after_epoch(runner, batch_idx, mode,
                                                   with_non_scalar)
        if self.console_metrics is None:
            return tag, log_str
        hidden = [key for key in tag
                  if '/' in key and not self._shown(key)]
        for key in hidden:
            log_str = re.sub(r'\s+' + re.escape(key) + r': \S+', '', log_str)
        return tag, log_str

    def _shown(self, key: str) -> bool:
        """Whether a metric key such as ``medical/f1_weighted`` is printed
        (teachers' keys ``teacher/<name>/<metric>`` follow the same list)."""
        return key.rsplit('/', 1)[-1] in self.console_metrics
