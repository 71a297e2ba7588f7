"""Every results table in the docs is the table its command printed, in
this version of medkd: each record in docs/results/ (written by the
command's ``--json``) is quoted verbatim where its command is written, and
was made by the code on disk (its code fingerprint is today's)."""
import glob
import json
import os.path as osp

import pytest

from medkd.apis.seeds import code_fingerprint

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOCS = sorted(glob.glob(osp.join(ROOT, 'README.md')) +
              glob.glob(osp.join(ROOT, 'docs', '**', '*.md'), recursive=True) +
              glob.glob(osp.join(ROOT, 'configs', '*', 'README.md')))
RECORDS = sorted(glob.glob(osp.join(ROOT, 'docs', 'results', '*.json')))


def _text(path):
    with open(path) as f:
        return f.read()


@pytest.mark.parametrize('path', RECORDS,
                         ids=[osp.basename(p) for p in RECORDS])
def test_each_record_is_quoted_next_to_its_command(path):
    with open(path) as f:
        record = json.load(f)
    relative = osp.relpath(path, ROOT)
    assert record.get('table') and record.get('command'), relative
    quoting = [doc for doc in DOCS if f'--json {relative}' in _text(doc)]
    assert quoting, (f'{relative}: no doc writes its command '
                     f'({record["command"]})')
    for doc in quoting:
        assert record['table'] in _text(doc), (
            f'{osp.relpath(doc, ROOT)} does not show the table of '
            f'{relative} as its command printed it: rerun '
            f'`{record["command"]}` and paste its table')


@pytest.mark.parametrize('path', RECORDS,
                         ids=[osp.basename(p) for p in RECORDS])
def test_each_record_was_made_by_this_version_of_medkd(path):
    with open(path) as f:
        record = json.load(f)
    assert record['code_fingerprint'] == code_fingerprint(), (
        f'{osp.relpath(path, ROOT)} was made by other medkd code: rerun '
        f'`{record["command"]}` (and update the table it prints)')
