"""One HTML page that compares finished runs: the distillation report.

A *run* is a work directory of ``tools/train.py`` (or of ``tools/demo.py``
/ ``compare_runs.py``, which also hold ``test_results.pkl``). The report
reads, for each run:

- its config: the one mmengine saved in the work directory;
- its test predictions: ``tools/test.py --out`` dump (``test_results.pkl``
  in the work directory unless given);
- its training scalars: every ``<timestamp>/vis_data/scalars.json``
  (mmengine's ``LocalVisBackend``), oldest first, so resumed runs join up.

and writes ``{out_dir}/index.html`` with the PNGs it shows beside it:
the comparison table (bootstrap 95 % CIs of the test metrics), the
complexity table of each deployed network, confusion matrices, ROC curves,
one reliability diagram of all runs, training curves and, for gated runs,
mean gate weights per class. The page loads nothing from the network.
"""
import datetime
import glob
import html
import json
import os
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from sklearn.metrics import confusion_matrix

from medkd.evaluation.dumped_results import (ALL_ROW, class_name_list,
                                             config_class_names,
                                             gate_weight_summary,
                                             load_predictions, load_results)
from medkd.evaluation.metrics.calibration import (NUM_BINS, UNCALIBRATED_FIELD,
                                                 binary_confidences)
from medkd.evaluation.metrics.medical_metric import compute_medical_metrics
from medkd.evaluation.statistics import bootstrap_ci, resampling_groups
from medkd.models.distillers import is_distiller
from medkd.registry import MODELS
from medkd.apis.complexity import model_complexity
from medkd.visualization import (confusion_png, gate_weights_png,
                                 reliability_png, roc_png,
                                 training_curves_png)
from medkd.utils.config import load_config
from .inference import model_config
from .seeds import RESULTS_FILE

__all__ = ['RunFiles', 'find_run_files', 'read_scalars', 'build_report']

#: (metric key, column title, digits); multi-label runs report ``auc_mean``.
TABLE_METRICS = (('accuracy', 'accuracy (%)', 2),
                 ('f1_weighted', 'weighted F1 (%)', 2),
                 ('auc', 'AUC', 4), ('ece_uncalibrated', 'ECE raw (%)', 2),
                 ('ece', 'ECE (%)', 2))


class RunFiles(NamedTuple):
    """The files of one run the report reads."""
    work_dir: str
    config: str
    results: str
    scalars: List[str]


def find_run_files(work_dir: str, results: Optional[str] = None) -> RunFiles:
    """The config, results dump and scalar logs of a work directory.

    Raises:
        FileNotFoundError: naming the work directory and the file missing,
            with the command that makes it.
    """
    configs = sorted(glob.glob(osp.join(work_dir, '*.py')), key=osp.getmtime)
    if not configs:
        raise FileNotFoundError(
            f'{work_dir} holds no config (*.py): is it the work directory of '
            'a tools/train.py run?')
    results = results or osp.join(work_dir, RESULTS_FILE)
    if not osp.isfile(results):
        raise FileNotFoundError(
            f'{results} not found: the report needs test predictions of '
            f'{work_dir}; write them with tools/test.py {configs[-1]} '
            f'CHECKPOINT --out {osp.join(work_dir, RESULTS_FILE)}')
    scalars = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                        'scalars.json')))
    return RunFiles(work_dir, configs[-1], results, scalars)


def read_scalars(paths: Sequence[str]) -> Tuple[List[dict], List[dict]]:
    """Training records (with ``loss``) and validation records of
    mmengine's ``scalars.json`` files, in order."""
    train, val = [], []
    for path in paths:
        with open(path) as f:
            for line in f:
                if line.strip():
                    record = json.loads(line)
                    (train if 'loss' in record else val).append(record)
    return train, val


def _metrics(preds, groups=None) -> Dict[str, float]:
    kwargs = dict(multi_label=preds.multi_label, mask=preds.mask)
    metrics = compute_medical_metrics(preds.scores, preds.labels, **kwargs)
    metrics.update(bootstrap_ci(preds.scores, preds.labels, groups=groups,
                                **kwargs))
    if preds.multi_label:
        for key in ('auc', 'auc_ci_low', 'auc_ci_high'):
            mean_key = key.replace('auc', 'auc_mean')
            if mean_key in metrics:
                metrics[key] = metrics[mean_key]
    return metrics


def _confidences(preds):
    """``(confidence, correct)`` of the top class (softmax) or of each
    unmasked label's 0.5 decision (sigmoid), for the reliability diagram."""
    if not preds.multi_label:
        return preds.scores.max(1), preds.scores.argmax(1) == preds.labels
    keep = (np.ones(preds.scores.shape, bool) if preds.mask is None
            else preds.mask.astype(bool))
    return binary_confidences(preds.scores[keep], preds.labels[keep], 0.5)


def _cell(metrics: dict, key: str, digits: int) -> str:
    if key not in metrics or metrics[key] is None or np.isnan(metrics[key]):
        return '–'
    text = f'{metrics[key]:.{digits}f}'
    low, high = metrics.get(f'{key}_ci_low'), metrics.get(f'{key}_ci_high')
    if low is not None and high is not None and not np.isnan(low):
        text += f' [{low:.{digits}f}, {high:.{digits}f}]'
    return text


def _deployed_network(cfg: Config):
    """The network a run deploys (a distiller's student), built with random
    weights: its size does not depend on them."""
    part = 'student' if is_distiller(cfg.model) else 'model'
    return MODELS.build(model_config(cfg, part))


def _input_shape(results: list, cfg: Config,
                 shape: Optional[Sequence[int]]) -> Tuple[int, int, int]:
    channels = int(cfg.get('data_preprocessor', {}).get('num_channels', 3)
                   or 3)
    if shape:
        return (channels, *shape)
    if 'img_shape' in results[0]:
        height, width = results[0]['img_shape'][:2]
        return (channels, int(height), int(width))
    return (channels, 224, 224)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = ''.join(f'<th>{html.escape(h)}</th>' for h in header)
    body = ''.join('<tr>' + ''.join(f'<td>{html.escape(str(c))}</td>'
                                    for c in row) + '</tr>' for row in rows)
    return f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>' \
        '</table>'


def _figure(png: str, caption: str) -> str:
    return (f'<figure><img src="{html.escape(png)}" '
            f'alt="{html.escape(caption)}"><figcaption>'
            f'{html.escape(caption)}</figcaption></figure>')


STYLE = '''
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead { background: #eee; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
img { max-width: 100%; }
figcaption { font-size: small; color: #555; }
'''


def build_report(work_dirs: Sequence[str],
                 out_dir: str,
                 names: Optional[Sequence[str]] = None,
                 results: Optional[Sequence[Optional[str]]] = None,
                 shape: Optional[Sequence[int]] = None,
                 title: str = 'medkd distillation report') -> str:
    """Write the report of ``work_dirs`` to ``{out_dir}/index.html``.

    Args:
        work_dirs (Sequence[str]): The runs, in table order.
        out_dir (str): Where the page and its PNGs go.
        names (Sequence[str], optional): One name per run. Defaults to the
            work directories' folder names.
        results (Sequence[str | None], optional): The test dump of each run
            (None: ``{work_dir}/test_results.pkl``).
        shape (Sequence[int], optional): ``(H, W)`` for the complexity
            table. Defaults to the dumps' ``img_shape``, else 224 × 224.
        title (str): The page title.

    Returns:
        str: The path of ``index.html``.
    """
    names = list(names or [osp.basename(osp.normpath(w)) for w in work_dirs])
    results = list(results or [None] * len(work_dirs))
    if not len(names) == len(results) == len(work_dirs):
        raise ValueError(f'{len(work_dirs)} runs, {len(names)} names and '
                         f'{len(results)} results files: give one each')
    os.makedirs(out_dir, exist_ok=True)
    rows, complexity, sections, curves, raw_curves = [], [], [], {}, {}
    for index, (name, work_dir, dump) in enumerate(
            zip(names, work_dirs, results)):
        files = find_run_files(work_dir, dump)
        cfg = load_config(files.config)
        samples = load_results(files.results)
        preds = load_predictions(samples)
        num_classes = preds.scores.shape[1]
        classes = class_name_list(config_class_names(cfg), num_classes)
        groups = resampling_groups([r.get('patient_id') for r in samples])
        metrics = _metrics(preds, groups)
        raw = preds
        if UNCALIBRATED_FIELD in samples[0]:  # temperature-scaled run
            raw = load_predictions(samples, UNCALIBRATED_FIELD)
            metrics['ece_uncalibrated'] = compute_medical_metrics(
                raw.scores, raw.labels, multi_label=raw.multi_label,
                mask=raw.mask)['ece']
        else:  # raw scores only: they are the uncalibrated ones
            metrics['ece_uncalibrated'] = metrics['ece']
        net = _deployed_network(cfg)
        input_shape = _input_shape(samples, cfg, shape)
        cost = model_complexity(net, input_shape, repeats=0)
        rows.append([name, f'{cost["params"]:,}', *(
            _cell(metrics, key, digits) for key, _, digits in TABLE_METRICS),
            str(len(samples)),
            f'{len(set(groups))} patients' if groups else 'images'])
        complexity.append([
            name, type(net.backbone).__name__ if hasattr(net, 'backbone')
            else type(net).__name__, 'x'.join(map(str, input_shape)),
            f'{cost["params"] / 1e6:.4g}', f'{cost["flops"] / 1e9:.4g}',
            f'{cost["size_mb"]:.3g}'
        ])
        figures = []
        stem = f'run{index}'
        if not preds.multi_label:
            counts = confusion_matrix(preds.labels, preds.scores.argmax(1),
                                      labels=list(range(num_classes)))
            confusion_png(counts, classes, osp.join(out_dir,
                                                    f'{stem}_cm.png'))
            figures.append(_figure(f'{stem}_cm.png',
                                   f'{name}: confusion matrix (test)'))
        for store, arrays in ((curves, preds), (raw_curves, raw)):
            store[name] = _confidences(arrays)
        roc_png(preds.scores, preds.labels, classes,
                osp.join(out_dir, f'{stem}_roc.png'), preds.multi_label,
                preds.mask, title=name)
        figures.append(_figure(f'{stem}_roc.png', f'{name}: ROC (test)'))
        train, val = read_scalars(files.scalars)
        if train or val:
            training_curves_png(train, val,
                                osp.join(out_dir, f'{stem}_curves.png'),
                                title=name)
            figures.append(_figure(f'{stem}_curves.png',
                                   f'{name}: training curves'))
        if 'gate_weights' in samples[0] and not preds.multi_label:
            teachers = list(cfg.model.teachers)
            means, _ = gate_weight_summary(samples, num_classes)
            gate_weights_png(means, classes + [ALL_ROW], teachers,
                             osp.join(out_dir, f'{stem}_gate.png'))
            figures.append(_figure(f'{stem}_gate.png',
                                   f'{name}: mean gate weight per class'))
        sections.append(
            f'<h3>{html.escape(name)}</h3><p><code>'
            f'{html.escape(files.work_dir)}</code>: config <code>'
            f'{html.escape(osp.basename(files.config))}</code>, test '
            f'predictions <code>{html.escape(files.results)}</code></p>' +
            ''.join(figures))
    reliability_png(curves, osp.join(out_dir, 'reliability.png'), NUM_BINS,
                    raw_curves=raw_curves)
    header = ['model', 'params',
              *(title for _, title, _ in TABLE_METRICS), 'test samples',
              'CIs resample']
    page = f'''<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>Generated {datetime.datetime.now():%Y-%m-%d %H:%M} by
<code>tools/analysis_tools/report.py</code>. Test split of each run; a value
[low, high] is its percentile-bootstrap 95 % CI (1000 resamples) over the
test patients when the dump names them (a cluster bootstrap: all images of
a drawn patient), else over the test images; the last column says which. AUC in [0, 1] (mean over labels for multi-label runs), other
metrics in percent.</p>
<h2>Comparison</h2>
{_table(header, rows)}
<h2>Complexity of the deployed networks</h2>
<p>FLOPs: multiply-adds of one image (mmengine's count); size: the float32
state dict as saved.</p>
{_table(['model', 'network', 'input', 'params (M)', 'FLOPs (G)',
         'size (MB)'], complexity)}
<h2>Calibration</h2>
<p>Each run's scores before (raw) and after temperature scaling fitted on
its val split (<code>calibration</code>, stored in the checkpoint); a run
without calibration shows its raw scores in both panels.</p>
{_figure('reliability.png', 'reliability diagrams of every run (test), '
         'before and after calibration')}
<h2>Runs</h2>
{''.join(sections)}
</body></html>
'''
    index = osp.join(out_dir, 'index.html')
    with open(index, 'w') as f:
        f.write(page)
    return index
