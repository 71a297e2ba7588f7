"""Every fenced shell command of README.md and docs/*.md works as written.

One workspace (a temporary folder with the repository's ``configs/`` and
``tools/``) runs the README's demo first, with one epoch a stage, then every
``bash`` block of the documents in order, each line as a user would type it
(``python`` and ``.venv/bin/python`` are this virtualenv's interpreter; a
``python tools/...`` command runs in this process, as ``conftest.run_tool``
does, to save the interpreter's start-up; ``bash`` lines run in a shell).
What the test changes, and nothing else:

- training commands (``tools/demo.py``, ``tools/train.py``,
  ``tools/dist_train.sh``, ``tools/train_chain.py``, ``compare_runs.py``,
  ``benchmark_cache.py``) train one epoch (two for the cache benchmark) on
  16-pixel images, a few per class (:data:`TRAINING_OVERRIDES`);
- a one-epoch run's ``epoch_1.pth`` is also reachable under the file name
  the full schedule writes (``epoch_30.pth``), which the documents and the
  demo configs' teacher paths name;
- ``srun`` is a dry stand-in that prints the arguments
  ``tools/slurm_train.sh`` gives it (there is no Slurm cluster here);
- the paper-size benchmark times one step instead of six.

A block preceded by ``<!-- docs-test: not run (reason) -->`` is listed with
its reason and not run: the install and test commands themselves (what CI
runs).
"""
import glob
import os
import os.path as osp
import re
import runpy
import shlex
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOCUMENTS = ['README.md', *sorted(glob.glob(osp.join(ROOT, 'docs', '*.md')))]
BLOCK = re.compile(
    r'(?:<!-- docs-test: not run \((?P<reason>[^)]+)\) -->\s*\n)?'
    r'```(?:bash|shell)\n(?P<body>.*?)```', re.S)
SHRINK = ' '.join(
    f'{split}_dataloader.dataset.{key}' for split in ('train', 'val', 'test')
    for key in ('num_per_class=[16,8,8]', 'image_size=16'))
ONE_EPOCH = f'train_cfg.max_epochs=1 {SHRINK}'
# tool -> (extra flags, extra --cfg-options)
TRAINING_OVERRIDES = {
    'tools/demo.py': ('--epochs 1', SHRINK),
    'tools/train.py': ('', ONE_EPOCH),
    'tools/dist_train.sh': ('', ONE_EPOCH),
    'tools/train_chain.py': ('', ONE_EPOCH),
    'tools/analysis_tools/compare_runs.py': ('', ONE_EPOCH),
    'tools/analysis_tools/benchmark_cache.py': ('--epochs 2 --interval 1',
                                                SHRINK),
}
# slurm's srun, dry: prints what it was asked to run (the options the
# script computed and the training command)
FAKE_SRUN = """#!/usr/bin/env bash
for arg in "$@"; do echo "srun argument: $arg"; done
"""


def shell_lines(body: str):
    """The commands of a block: continuation lines joined, comments and
    blank lines dropped."""
    text = body.replace('\\\n', ' ')
    for line in text.splitlines():
        line = line.split(' #')[0].strip() if not line.lstrip().startswith(
            '#') else ''
        if line:
            yield line


def blocks():
    for document in DOCUMENTS:
        path = osp.join(ROOT, document)
        text = open(path).read()
        for index, match in enumerate(BLOCK.finditer(text), 1):
            yield pytest.param(
                osp.relpath(path, ROOT), match['reason'],
                list(shell_lines(match['body'])),
                id=f'{osp.relpath(path, ROOT)}#{index}')


def with_overrides(line: str) -> str:
    for tool, (flags, options) in TRAINING_OVERRIDES.items():
        if tool in line.split():
            if '--cfg-options' in line:
                line = line.replace('--cfg-options',
                                    f'--cfg-options {options}', 1)
            else:
                line = f'{line} --cfg-options {options}'
            line = f'{line} {flags}'.strip()
    if 'benchmark_step.py' in line:
        line = re.sub(r'--rounds \d+ --steps \d+ --warmup \d+',
                      '--rounds 1 --steps 1 --warmup 0', line)
    return line.replace('.venv/bin/python', 'python')


def link_full_schedule_names(workspace: str):
    """``epoch_1.pth`` of a one-epoch run also under every
    ``work_dirs/.../epoch_<n>.pth`` name the documents or demo configs
    use, in the same folder."""
    named = set()
    for path in [*(osp.join(ROOT, d) for d in DOCUMENTS),
                 *glob.glob(osp.join(ROOT, 'configs', 'demo', '*.py'))]:
        named |= set(re.findall(r'work_dirs/[\w./-]+/epoch_\d+\.pth',
                                open(path).read()))
    for name in named:
        target = osp.join(workspace, name)
        one = osp.join(osp.dirname(target), 'epoch_1.pth')
        if osp.isfile(one) and not osp.lexists(target):
            os.symlink('epoch_1.pth', target)


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('docs_workspace'))
    for name in ('configs', 'tools'):
        os.symlink(osp.join(ROOT, name), osp.join(folder, name))
    bin_dir = osp.join(folder, 'fake_bin')
    os.makedirs(bin_dir)
    with open(osp.join(bin_dir, 'srun'), 'w') as f:
        f.write(FAKE_SRUN)
    os.chmod(osp.join(bin_dir, 'srun'), 0o755)
    return folder


def run_in_process(argv, workspace: str, monkeypatch):
    """``python tools/<tool>.py args`` in this process (as
    ``conftest.run_tool``), from the workspace: no interpreter start-up."""
    monkeypatch.chdir(workspace)
    monkeypatch.setattr(sys, 'argv', argv)
    try:
        runpy.run_path(osp.join(workspace, argv[0]), run_name='__main__')
    except SystemExit as exit:
        assert exit.code in (None, 0), f'{argv} exited with {exit.code}'
    finally:
        monkeypatch.undo()


def run_line(line: str, workspace: str, monkeypatch=None):
    command = with_overrides(line)
    argv = shlex.split(command)
    if monkeypatch is not None and argv[0] == 'python' and argv[1].startswith(
            'tools/'):
        run_in_process(argv[1:], workspace, monkeypatch)
        link_full_schedule_names(workspace)
        return
    env = dict(os.environ)
    env['PATH'] = os.pathsep.join(
        [osp.dirname(sys.executable),
         osp.join(workspace, 'fake_bin'), env['PATH']])
    env['PYTHON'] = sys.executable
    env.pop('PYTHONPATH', None)
    done = subprocess.run(['bash', '-c', command], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (
        f'{line!r} (run as {command!r}) failed with exit code '
        f'{done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}')
    link_full_schedule_names(workspace)


def test_skipped_blocks_say_why_and_are_only_the_setup_commands():
    skipped = [(p.values[0], p.values[2]) for p in blocks()
               if p.values[1] is not None]
    lines = [line for _, block in skipped for line in block]
    assert lines and all(
        line.startswith(('python3 -m venv', '.venv/bin/python -m pytest'))
        for line in lines), skipped


def test_the_readme_demo_runs_first(workspace, monkeypatch):
    text = open(osp.join(ROOT, 'README.md')).read()
    demo = [line for match in BLOCK.finditer(text)
            for line in shell_lines(match['body']) if 'tools/demo.py' in line]
    assert demo, 'README.md has no tools/demo.py command'
    run_line(demo[0], workspace, monkeypatch)
    assert osp.isfile(osp.join(
        workspace, 'work_dirs/demo/kd/dist_convnet_wide_convnet_cells/'
        'epoch_30.pth'))


@pytest.mark.parametrize('document,reason,lines', blocks())
def test_documented_commands_work_as_written(document, reason, lines,
                                             workspace, monkeypatch):
    if reason is not None:
        pytest.skip(f'{document}: not run ({reason})')
    assert lines, f'an empty bash block in {document}'
    for line in lines:
        if shlex.split(line)[:1] == ['cd']:
            pytest.fail(f'{document}: {line!r}: blocks run from the '
                        'repository root')
        run_line(line, workspace, monkeypatch)
