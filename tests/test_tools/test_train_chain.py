"""tools/train_chain.py: a tiny teacher -> assistant -> student chain, its
skip-finished and resume-interrupted behaviour."""
import glob
import hashlib
import json
import os
import os.path as osp
import runpy
import sys

import pytest
from mmengine.config import Config

from medkd.apis import final_checkpoint, load_chain
from medkd.utils.checkpoint import safe_load
from conftest import torchrun, write_tiny_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGES = dict(
    teacher='configs/demo/ta_resnet18_teacher_cells.py',
    assistant='configs/demo/ta_convnet_assistant_cells.py',
    student='configs/demo/ta_student_from_assistant_cells.py')
KEEP = 'default_hooks = dict(checkpoint=dict(max_keep_ckpts=3))'


def run_chain_tool(monkeypatch, *args):
    monkeypatch.setattr(sys, 'argv', ['train_chain.py', *map(str, args)])
    runpy.run_path(
        osp.join(ROOT, 'tools', 'train_chain.py'), run_name='__main__')


def write_chain(tmp_path):
    for name, config in STAGES.items():
        write_tiny_config(
            tmp_path / f'{name}.py',
            config,
            tmp_path / 'data',
            epochs=2,
            extra=KEEP)
    chain = tmp_path / 'chain.py'
    chain.write_text('\n'.join([
        f"work_dir = {str(tmp_path / 'work')!r}",
        'stages = [',
        "    dict(name='teacher', config='teacher.py'),",
        "    dict(name='assistant', config='assistant.py',",
        "         teachers=dict(teacher='teacher')),",
        "    dict(name='student', config='student.py',",
        "         teachers=dict(assistant='assistant')),",
        ']',
    ]) + '\n')
    return chain


def runs(work, name):
    """The log folders (one per run) of a stage."""
    return sorted(glob.glob(str(work / name / '2*' / 'vis_data')))


def trained_epochs(vis_data):
    with open(osp.join(vis_data, 'scalars.json')) as f:
        records = [json.loads(line) for line in f]
    return sorted({r['epoch'] for r in records if 'loss' in r})


def file_sha256(path):
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def state(path):
    return safe_load(str(path))['state_dict']


def test_chain_passes_checkpoints_skips_finished_and_resumes(
        tmp_path, monkeypatch):
    chain = write_chain(tmp_path)
    work = tmp_path / 'work'
    run_chain_tool(monkeypatch, chain)

    finals = {n: work / n / 'epoch_2.pth' for n in STAGES}
    for name, path in finals.items():
        assert final_checkpoint(str(work / name)) == str(path)
        assert len(runs(work, name)) == 1
        assert trained_epochs(runs(work, name)[0]) == [1, 2]
    # Each stage's frozen teacher is the previous stage's final model (named
    # by path and SHA-256 in the student-sized checkpoint).
    for stage, (name, given) in (('assistant', ('teacher', 'teacher')),
                                 ('student', ('assistant', 'assistant'))):
        files = safe_load(str(finals[stage]))['meta']['teacher_files']
        assert files == {name: dict(ckpt=str(finals[given]),
                                    sha256=file_sha256(finals[given]))}
    assert any(k.startswith('connectors.') for k in state(finals['student']))

    # Interrupt the student after epoch 1: its final checkpoint is gone.
    os.remove(finals['student'])
    for best in glob.glob(str(work / 'student' / 'best_*.pth')):
        os.remove(best)
    (work / 'student' / 'last_checkpoint').write_text(
        str(work / 'student' / 'epoch_1.pth'))
    mtimes = {
        n: os.stat(finals[n]).st_mtime_ns
        for n in ('teacher', 'assistant')
    }
    run_chain_tool(monkeypatch, chain)
    for name in ('teacher', 'assistant'):  # skipped: no new run
        assert len(runs(work, name)) == 1
        assert os.stat(finals[name]).st_mtime_ns == mtimes[name]
    student_runs = runs(work, 'student')
    assert len(student_runs) == 2
    assert trained_epochs(student_runs[-1]) == [2]  # resumed, not restarted
    resumed = safe_load(str(finals['student']))
    assert resumed['meta']['epoch'] == 2
    # the resumed stage re-loaded the same assistant file (hash checked)
    assert resumed['meta']['teacher_files']['assistant']['sha256'] == \
        file_sha256(finals['assistant'])

    run_chain_tool(monkeypatch, chain)  # everything finished: nothing runs
    assert [len(runs(work, n)) for n in STAGES] == [1, 1, 2]


def test_final_checkpoint_requires_the_last_epoch(tmp_path):
    cfg = Config(dict(train_cfg=dict(by_epoch=True, max_epochs=3)))
    assert final_checkpoint(str(tmp_path), cfg) is None
    for epoch in (2, 3):
        (tmp_path / f'epoch_{epoch}.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    assert final_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    assert final_checkpoint(str(tmp_path), cfg) is None
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    assert final_checkpoint(str(tmp_path),
                            cfg) == str(tmp_path / 'epoch_3.pth')


def test_chain_config_errors(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text("stages = [dict(name='student', config='s.py', "
                   "teachers=dict(assistant='assistant')), "
                   "dict(name='assistant', config='a.py')]\n")
    with pytest.raises(
            KeyError,
            match=r"stages\[0\].teachers.assistant is "
            r"'assistant', which is not an earlier stage"):
        load_chain(str(bad))
    bad.write_text("model = dict()\n")
    with pytest.raises(KeyError, match='no `stages`'):
        load_chain(str(bad))
    for chain in ('chexpert_chain.py', 'covid_chain.py'):
        path = osp.join(ROOT, 'configs', 'teacher_assistant', chain)
        for stage in load_chain(path).stages:
            assert osp.isfile(osp.join(osp.dirname(path), stage['config']))


def test_chain_stages_train_distributed_with_launcher_pytorch(tmp_path):
    """torchrun, 2 CPU processes: every stage trains on both (half the
    iterations per epoch) and each later stage loads the earlier stage's
    final checkpoint."""
    chain = write_chain(tmp_path)
    done = torchrun('train_chain.py', chain, '--launcher', 'pytorch')
    assert done.returncode == 0, done.stderr[-3000:]
    work = tmp_path / 'work'
    for name in STAGES:
        final = safe_load(str(work / name / 'epoch_2.pth'))
        # 32 images, 2 processes x batch 8: 2 iterations an epoch
        assert final['meta']['iter'] == 4, name
    files = safe_load(str(work / 'student' / 'epoch_2.pth'))['meta'][
        'teacher_files']
    assert files['assistant']['sha256'] == file_sha256(
        work / 'assistant' / 'epoch_2.pth')
