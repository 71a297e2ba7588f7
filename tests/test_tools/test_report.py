"""tools/analysis_tools/report.py and tools/demo.py --report: the page
builds from a one-epoch demo, its numbers are the dumps', and headless
Chromium renders every image of it."""
import html.parser
import json
import os
import os.path as osp
import re
import shutil
import subprocess

import numpy as np
import pytest

from conftest import run_tool
from medkd.apis.report import find_run_files, read_scalars
from medkd.evaluation import compute_medical_metrics
from medkd.evaluation.dumped_results import load_predictions, load_results

SMALL = [f'{split}_dataloader.dataset.{key}'
         for split in ('train', 'val', 'test')
         for key in ('num_per_class=[16,8,8]', 'image_size=16')]
STAGES = ('teacher (wide convnet)', 'student alone (tiny convnet)',
          'student + vanilla KD (Hinton, T=2)',
          'student + DIST KD (recommended)')


@pytest.fixture(scope='module')
def demo_report(tmp_path_factory):
    root = tmp_path_factory.mktemp('report')
    monkeypatch = pytest.MonkeyPatch()
    try:
        run_tool(monkeypatch, 'demo.py', '--method', 'kd', '--epochs', 1,
                 '--work-dir', root / 'demo', '--data-root', root / 'data',
                 '--report', '--cfg-options', *SMALL)
    finally:
        monkeypatch.undo()
    return root


class Tables(html.parser.HTMLParser):
    """The cells of every <table> of a page."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == 'table':
            self.tables.append([])
        elif tag == 'tr':
            self.tables[-1].append([])
        elif tag in ('td', 'th'):
            self._cell = ''

    def handle_endtag(self, tag):
        if tag in ('td', 'th'):
            self.tables[-1][-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def test_the_report_table_holds_each_runs_test_numbers(demo_report):
    page = demo_report / 'demo' / 'kd_report' / 'index.html'
    text = page.read_text()
    parser = Tables()
    parser.feed(text)
    comparison = parser.tables[0]
    assert comparison[0][:3] == ['model', 'params', 'accuracy (%)']
    assert [row[0] for row in comparison[1:]] == list(STAGES)
    dirs = ['convnet_wide_teacher_cells', 'convnet_student_cells',
            'kd/kd_convnet_wide_convnet_cells',
            'kd/dist_convnet_wide_convnet_cells']
    for row, folder in zip(comparison[1:], dirs):
        preds = load_predictions(
            str(demo_report / 'demo' / folder / 'test_results.pkl'))
        accuracy = 100 * np.mean(preds.scores.argmax(1) == preds.labels)
        value, low, high = map(float, re.findall(r'[\d.]+', row[2]))
        assert value == pytest.approx(accuracy, abs=0.005)
        assert low <= value <= high
        assert row[-2] == str(len(preds.labels))
        assert row[-1] == 'images'  # synthetic cells name no patients
        # ECE before and after the run's temperature scaling
        results = load_results(
            str(demo_report / 'demo' / folder / 'test_results.pkl'))
        raw = load_predictions(results, 'pred_score_uncalibrated')
        header = comparison[0]
        ece_raw = float(row[header.index('ECE raw (%)')])
        ece = float(row[header.index('ECE (%)')])
        assert ece_raw == pytest.approx(compute_medical_metrics(
            raw.scores, raw.labels)['ece'], abs=0.005)
        assert ece == pytest.approx(compute_medical_metrics(
            preds.scores, preds.labels)['ece'], abs=0.005)
    params = {row[0]: row[1] for row in comparison[1:]}
    assert params['student alone (tiny convnet)'] == '6,604'
    assert parser.tables[1][0][:3] == ['model', 'network', 'input']
    # the page loads nothing from the network
    assert not re.search(r'(src|href)="(https?:)?//', text)
    # one training-curve figure per run, from its logged scalars
    for folder in dirs:
        train, val = read_scalars(
            find_run_files(str(demo_report / 'demo' / folder)).scalars)
        terms = {'loss', 'loss_cls', 'loss_kd'} if 'kd/' in folder else {
            'loss'}
        assert terms <= set(train[0]) and val
    assert len(re.findall(r'_curves\.png', text)) == 4


def chromium():
    binary = next(filter(None, map(shutil.which, (
        'chromium', 'chromium-browser', 'google-chrome'))), None)
    if binary is None:
        if os.environ.get('MEDKD_REQUIRE_BROWSER'):
            pytest.fail('MEDKD_REQUIRE_BROWSER is set but no chromium is '
                        'installed (.ci/run installs Debian\'s chromium)')
        pytest.skip('no headless Chromium here (apt-get install chromium)')
    return binary


CHECKER = '''<!DOCTYPE html><html><body>
<iframe id="page" src="%s" width="1200" height="800"></iframe>
<script>
document.getElementById('page').addEventListener('load', function () {
  var doc = this.contentDocument;
  var images = Array.prototype.slice.call(doc.images);
  var pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = JSON.stringify({
    images: images.map(function (i) { return i.getAttribute('src'); }),
    broken: images.filter(function (i) {
      return !(i.complete && i.naturalWidth > 0); })
      .map(function (i) { return i.getAttribute('src'); }),
    tables: doc.querySelectorAll('table').length
  });
  document.body.appendChild(pre);
});
</script></body></html>'''


def rendered(page, tmp_path):
    """What Chromium rendered of ``page``: its images, the broken ones
    and the number of tables."""
    checker = tmp_path / 'checker.html'
    checker.write_text(CHECKER % page.as_uri())
    done = subprocess.run([
        chromium(), '--headless', '--no-sandbox', '--disable-gpu',
        '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync',
        f'--user-data-dir={tmp_path / "profile"}',
        '--allow-file-access-from-files', '--virtual-time-budget=10000',
        '--dump-dom', checker.as_uri()
    ], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="result">(.*?)</pre>', done.stdout)
    assert found, f'chromium rendered no result:\n{done.stderr[-2000:]}'
    return json.loads(found.group(1))


def test_chromium_renders_every_image_and_the_tables(demo_report, tmp_path):
    report = demo_report / 'demo' / 'kd_report'
    result = rendered(report / 'index.html', tmp_path)
    assert result['broken'] == [] and result['tables'] == 2
    # confusion matrix, ROC and curves per run, one reliability diagram
    assert len(result['images']) == 4 * 3 + 1
    # the check sees a broken image
    copy = tmp_path / 'copy'
    shutil.copytree(report, copy)
    (copy / 'run0_roc.png').write_bytes(b'not a png')
    assert rendered(copy / 'index.html', tmp_path)['broken'] == [
        'run0_roc.png']


def test_report_tool_names_the_missing_dump_and_how_to_write_it(
        demo_report, tmp_path, monkeypatch):
    run = demo_report / 'demo' / 'convnet_student_cells'
    copy = tmp_path / 'run'
    shutil.copytree(run, copy)
    os.remove(copy / 'test_results.pkl')
    with pytest.raises(FileNotFoundError,
                       match=r'tools/test.py .*convnet_student_cells\.py '
                       r'CHECKPOINT --out .*test_results\.pkl'):
        run_tool(monkeypatch, 'analysis_tools/report.py', copy, '--out',
                 tmp_path / 'out')
    # given explicitly, any dump of the run does
    run_tool(monkeypatch, 'analysis_tools/report.py', copy, '--results',
             run / 'test_results.pkl', '--names', 'alone', '--out',
             tmp_path / 'out')
    assert osp.isfile(tmp_path / 'out' / 'run0_cm.png')
