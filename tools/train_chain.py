"""Train a chain of stages (e.g. teacher → assistant → student) in one go.

    python tools/train_chain.py configs/teacher_assistant/chexpert_chain.py \
        [--work-dir work_dirs/chexpert_chain] [--cfg-options KEY=VALUE ...]
    # every stage on 4 GPUs (or CPU processes):
    python -m torch.distributed.run --nproc_per_node 4 \
        tools/train_chain.py CHAIN --launcher pytorch

Each stage trains in ``{work_dir}/{stage name}`` and hands its final
checkpoint to the later stages that name it as a teacher. Rerunning the
command skips finished stages and resumes an interrupted one.
"""
import argparse

from mmengine.config import DictAction
from mmengine.logging import MMLogger
from terminaltables import GithubFlavoredMarkdownTable

from medkd.apis import close_distributed, run_chain
from medkd.apis.train import add_launcher_arguments, parse_launcher_args


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='chain config (lists `stages`)')
    parser.add_argument(
        '--work-dir', help='chain work directory (default: `work_dir` in '
        'the config, else work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='overrides applied to every stage, e.g. train_cfg.max_epochs=2')
    add_launcher_arguments(parser, 'train every stage distributed')
    return parse_launcher_args(parser)


def main():
    args = parse_args()
    logger = MMLogger.get_instance('medkd_chain')
    finished = run_chain(args.config, args.work_dir, args.cfg_options,
                         args.launcher)
    table = GithubFlavoredMarkdownTable(
        [['stage', 'final checkpoint'], *finished.items()])
    table.title = f'Chain {args.config}'
    logger.info('\n' + table.table)
    close_distributed()


if __name__ == '__main__':
    main()
