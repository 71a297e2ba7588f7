"""Per-head confidence of an MM-MIMO model with all or one modality fed.

    python tools/analysis_tools/head_confidence.py CONFIG CKPT --out fig.png \
        [--split test] [--max-batches N] [--cfg-options k=v ...]

Seed 002's Fig. 4: the test cells go through the MIMO network (the student
of a ``MultiModalMIMO`` config, or a ``MIMOClassifier``) once with every
modality and once per modality with the other slots set to zero (after
normalisation, i.e. the dataset mean). For each input strategy the figure
shows the distribution of every head's confidence (its top softmax
probability); independent subnetworks stay confident only on their own
modality. A table of the mean confidences is printed.
"""
import argparse
from typing import List

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from terminaltables import AsciiTable  # noqa: E402

from medkd.apis.inference import model_config  # noqa: E402
from medkd.utils.checkpoint import load_classifier_weights  # noqa
from medkd.registry import MODELS  # noqa: E402
from medkd.utils import register_all_modules  # noqa: E402
from medkd.utils.config import load_config


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='MM-MIMO config (with or without KD)')
    parser.add_argument('checkpoint', help='checkpoint of that config')
    parser.add_argument('--out', required=True, help='PNG to write')
    parser.add_argument(
        '--split',
        default='test',
        choices=['val', 'test'],
        help='dataloader to use (default test)')
    parser.add_argument(
        '--max-batches', type=int, help='stop after this many batches')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings')
    return parser.parse_args()


def build_mimo(cfg: Config, checkpoint: str):
    """The MIMO classifier of ``cfg`` (a distiller's student) with the
    checkpoint's weights, in eval mode."""
    model = MODELS.build(model_config(cfg, part='student'))
    if not hasattr(model, 'slot_slice'):
        raise TypeError(f'{cfg.filename}: the model (or student) is a '
                        f'{type(model).__name__}, not a MIMOClassifier.')
    load_classifier_weights(model, checkpoint, 'checkpoint')
    return model.eval()


@torch.no_grad()
def head_confidences(model, dataloader, max_batches=None) -> np.ndarray:
    """Top softmax probability of every head under every input strategy.

    Returns:
        np.ndarray: ``(1 + M, M, N)`` confidences: strategy (all slots,
        then slot m only), head, sample.
    """
    chunks = []
    for i, batch in enumerate(dataloader):
        if max_batches is not None and i >= max_batches:
            break
        inputs = model.data_preprocessor(batch, False)['inputs']
        per_strategy = []
        for s in range(1 + model.num_slots):
            x = inputs
            if s:
                x = torch.zeros_like(inputs)
                keep = model.slot_slice(s - 1)
                x[:, keep] = inputs[:, keep]
            probs = torch.softmax(model(x, mode='tensor'), dim=-1)
            per_strategy.append(probs.max(dim=-1).values.T)  # (M, N)
        chunks.append(torch.stack(per_strategy))
    return torch.cat(chunks, dim=2).cpu().numpy()


def plot(confidences: np.ndarray, strategies: List[str], heads: List[str],
         out: str) -> None:
    num = len(strategies)
    fig, axes = plt.subplots(1, num, figsize=(3.2 * num, 3), sharey=True)
    bins = np.linspace(0, 1, 21)
    for ax, name, conf in zip(np.atleast_1d(axes), strategies, confidences):
        for head, values in zip(heads, conf):
            ax.hist(
                values,
                bins=bins,
                histtype='step',
                linewidth=1.5,
                label=head,
                density=True)
        ax.set_title(name)
        ax.set_xlabel('confidence')
    np.atleast_1d(axes)[0].set_ylabel('density')
    np.atleast_1d(axes)[-1].legend(title='head', fontsize='small')
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main():
    args = parse_args()
    register_all_modules(init_default_scope=True)
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = build_mimo(cfg, args.checkpoint)
    loader_cfg = cfg[f'{args.split}_dataloader']
    loader_cfg.update(num_workers=0, persistent_workers=False)
    dataloader = Runner.build_dataloader(loader_cfg)
    modalities = dataloader.dataset.metainfo.get('modalities') or [
        str(m) for m in range(model.num_slots)
    ]
    confidences = head_confidences(model, dataloader, args.max_batches)
    strategies = ['all'] + [f'{m} only' for m in modalities]
    heads = list(modalities)
    rows = [['input'] + [f'head {h}' for h in heads]]
    for name, conf in zip(strategies, confidences):
        rows.append([name] + [f'{c.mean():.3f}' for c in conf])
    print(AsciiTable(rows, title='mean head confidence').table)
    plot(confidences, strategies, heads, args.out)
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()
