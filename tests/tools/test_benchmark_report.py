"""tools/analysis/benchmark_report.py renders every stored result through the render of
the script that wrote it; a measurement script runs from a config + --cfg-options and
its JSON renders; the EGS fidelity section claims a recovered share only when the
0 -> 100% gain exceeds the seed spread."""
import copy
import glob
import importlib
import json
import os.path as osp
import shutil
import sys
import types

import pytest

from etad_mmaction.testing import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
benchmark_report = load_tool('analysis/benchmark_report.py')
egs_fidelity = load_tool('analysis/egs_fidelity.py')

JSON_DIR = osp.join(ROOT, 'docs', 'benchmarks')


def test_report_renders_every_stored_result(tmp_path):
    out = tmp_path / 'benchmarks.md'
    benchmark_report.write_report(JSON_DIR, str(out))
    text = out.read_text()
    results = glob.glob(osp.join(JSON_DIR, '*.json'))
    assert results
    # one section per result file, each naming its command and machine
    assert text.count('Command: `') >= len(results)
    assert text.count('Machine: ') >= len(results)
    assert not glob.glob(osp.join(JSON_DIR, '*.tmp'))


def _fidelity(avg_by_ratio_and_seed):
    """The stored egs_fidelity_cpu.json with other average mAPs, summarised by the
    experiment's own code."""
    _summary = egs_fidelity._summary
    with open(osp.join(JSON_DIR, 'egs_fidelity_cpu.json')) as f:
        d = copy.deepcopy(json.load(f))
    d['runs'] = [dict(r, avg_mAP=avg_by_ratio_and_seed[r['ratio']][r['seed']])
                 for r in d['runs']]
    d.update(_summary(d['runs']))
    return d


def test_fidelity_claims_a_share_only_for_a_clear_gain():
    clear = _fidelity({0.0: {0: 0.60, 1: 0.61, 2: 0.59}, 0.3: {0: 0.75, 1: 0.76, 2: 0.74},
                       1.0: {0: 0.80, 1: 0.81, 2: 0.79}})
    text = egs_fidelity.render(clear)
    assert '75% of the 0 -> 100% gain; per seed 75%, 75%, 75%' in text
    assert 'is a measurement' in text
    noisy = _fidelity({0.0: {0: 0.60, 1: 0.70, 2: 0.50}, 0.3: {0: 0.62, 1: 0.61, 2: 0.63},
                       1.0: {0: 0.66, 1: 0.56, 2: 0.64}})
    text = egs_fidelity.render(noisy)
    assert '% of the 0 -> 100% gain' not in text and 'no recovered share is claimed' in text


def test_every_stored_result_has_its_scripts_renderer():
    """No stored result falls back to the raw-JSON section (the ablation tables are
    rendered by ablation.py's render_markdown, after the other sections)."""
    for path in glob.glob(osp.join(JSON_DIR, '*.json')):
        name = osp.splitext(osp.basename(path))[0]
        if not name.startswith('ablation_'):
            assert benchmark_report._renderer(name) is not None, name


def test_a_measurement_from_a_config_renders(tmp_path):
    """dps_benchmark.py on the tiny test config with --cfg-options: its JSON has the
    config's sizes and the override, and the report renders it."""
    dps = load_tool('analysis/dps_benchmark.py')
    out = tmp_path / 'dps_cpu.json'
    dps.main([osp.join(ROOT, 'tests', 'configs', 'etad_tiny_synthetic.py'), '--steps', '1',
              '--batch', '1', '--ratios', '1.0', '0.5', '--infer-ratios', '0.5',
              '--cfg-options', 'model.neck.in_channels=16', '--out', str(out)])
    d = json.loads(out.read_text())
    assert (d['t'], d['feat_dim'], d['batch']) == (16, 16, 1)
    assert [r['ratio'] for r in d['train']] == [1.0, 0.5] and d['train'][0]['step_vs_100'] == 1
    assert d['train'][1]['step_s'] > 0 and d['inference'][0]['s_per_video'] > 0
    benchmark_report.write_report(str(tmp_path), str(tmp_path / 'benchmarks.md'))
    text = (tmp_path / 'benchmarks.md').read_text()
    assert '### DPS ratio sweep and DPS at inference (CPU)' in text
    assert '| 50% | ' in text and '![DPS cpu](benchmarks/dps_cpu.png)' in text


def test_ablation_results_render_after_the_rest_or_name_what_is_missing(tmp_path,
                                                                       monkeypatch):
    shutil.copy(osp.join(JSON_DIR, 'sweep_cpu.json'), tmp_path)
    (tmp_path / 'manual.md').write_text('MANUAL\n')
    (tmp_path / 'ablation_table5.json').write_text('{"table": "5"}')
    monkeypatch.setattr(benchmark_report, 'ABLATION', str(tmp_path / 'no_ablation.py'))
    with pytest.raises(FileNotFoundError, match=r'ablation_table5.json needs '
                       r'tools/analysis/ablation.py \(its render_markdown\)'):
        benchmark_report.write_report(str(tmp_path), str(tmp_path / 'out.md'))
    assert not (tmp_path / 'out.md').exists()
    stub = types.ModuleType('ablation')
    stub.render_markdown = lambda result: f"### Ablation table {result['table']}\n"
    monkeypatch.setitem(sys.modules, 'ablation', stub)
    monkeypatch.setattr(benchmark_report, 'ABLATION', benchmark_report.__file__)
    benchmark_report.write_report(str(tmp_path), str(tmp_path / 'out.md'))
    text = (tmp_path / 'out.md').read_text()
    assert text.index('### DPS ratio and sampling strategy') < text.index('MANUAL') < \
        text.index('### Ablation table 5')


def test_headline_table_links_dates_and_marks_stale_code(tmp_path, monkeypatch):
    headline = importlib.import_module('benchmark_headline')   # as the report imports it
    for name in ('detector_cpu', 'preset_comparison_cpu'):
        shutil.copy(osp.join(JSON_DIR, name + '.json'), tmp_path)
    calls = []

    def fake_git(*args):        # the models changed after abc1234 and on 2026-12-01
        calls.append(args)
        if args[0] == 'diff':
            return 0, 'etad_mmaction/models/x.py' if args[2] == 'abc1234' else ''
        return 0, '2026-12-01'
    monkeypatch.setattr(headline, '_git', fake_git)
    assert headline.code_state(dict(commit='abc1234+modified'), ('m',)) == 'abc1234, **stale**'
    assert headline.code_state(dict(commit='def5678'), ('m',)) == 'def5678'
    assert headline.code_state(dict(date='2026-11-27'), ('m',)) == \
        'not recorded, **stale** (code changed 2026-12-01)'
    assert headline.code_state(dict(date='2026-12-02'), ('m',)) == 'not recorded'
    monkeypatch.setattr(headline, '_git', lambda *a: (128, ''))   # a copy without .git
    assert headline.code_state(dict(commit='abc1234'), ('m',)) == 'abc1234 (unknown here)'
    monkeypatch.setattr(headline, '_git', fake_git)
    benchmark_report.write_report(str(tmp_path), str(tmp_path / 'b.md'))
    text = (tmp_path / 'b.md').read_text()
    assert text.index('## At a glance') < text.index('### Detector cost')
    row = next(ln for ln in text.splitlines() if ln.startswith('| DPS 6% vs 100%'))
    assert row == ('| DPS 6% vs 100%: step time, peak memory (CPU) | 0.15x, 0.24x | 2026-11-27 | '
                   'CPU, 2 cores | not recorded, **stale** (code changed 2026-12-01) | '
                   '[Detector cost: ETAD vs MMAction2 BMN (CPU)]'
                   '(#detector-cost-etad-vs-mmaction2-bmn-cpu) |')
    assert '| average mAP of the two presets (semi-synthetic) | paper 51.88 +- 0.68;' in text
    assert headline.slugs('# A: b (c)\n## A: b (c)\n') == {'A: b (c)': 'a-b-c'}


def test_step_benchmark_variants_are_checked_before_any_run():
    """--variant: KEY=VALUE model options or autocast only, each name once; refused
    with the variant's name before a model is measured."""
    import argparse
    tsb = load_tool('analysis/train_step_benchmark.py')
    parser = argparse.ArgumentParser()
    ok = tsb._parse_variants([['bf16', 'model.roi_head.stage_head.roi_matmul_dtype=bfloat16'],
                              ['amp', 'autocast=bfloat16']], parser)
    assert ok == {'bf16': {'model.roi_head.stage_head.roi_matmul_dtype': 'bfloat16'},
                  'amp': {'autocast': 'bfloat16'}}
    for bad in ([['a', 'x=1'], ['a', 'autocast=bfloat16']],      # twice
                [['b', 'model.x']],                              # no '='
                [['c']],                                         # no option
                [['d', 'optim_wrapper.type=X']],                 # not measured
                [['e', 'autocast=int8']]):
        with pytest.raises(SystemExit):
            tsb._parse_variants(bad, parser)
