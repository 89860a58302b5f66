"""tools/analysis/benchmark_report.py renders every stored result, and the EGS fidelity
section claims a recovered share only when the 0 -> 100% gain exceeds the seed spread."""
import copy
import glob
import json
import os.path as osp

from etad_mmaction.testing import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
benchmark_report = load_tool('analysis/benchmark_report.py')

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
    _summary = load_tool('analysis/egs_fidelity.py')._summary
    with open(osp.join(JSON_DIR, 'egs_fidelity_cpu.json')) as f:
        d = copy.deepcopy(json.load(f))
    d['runs'] = [dict(r, avg_mAP=avg_by_ratio_and_seed[r['ratio']][r['seed']])
                 for r in d['runs']]
    d.update(_summary(d['runs']))
    return d


def test_fidelity_claims_a_share_only_for_a_clear_gain():
    clear = _fidelity({0.0: {0: 0.60, 1: 0.61, 2: 0.59}, 0.3: {0: 0.75, 1: 0.76, 2: 0.74},
                       1.0: {0: 0.80, 1: 0.81, 2: 0.79}})
    text = benchmark_report._fidelity(clear)
    assert '75% of the 0 -> 100% gain; per seed 75%, 75%, 75%' in text
    assert 'is a measurement' in text
    noisy = _fidelity({0.0: {0: 0.60, 1: 0.70, 2: 0.50}, 0.3: {0: 0.62, 1: 0.61, 2: 0.63},
                       1.0: {0: 0.66, 1: 0.56, 2: 0.64}})
    text = benchmark_report._fidelity(noisy)
    assert '% of the 0 -> 100% gain' not in text and 'no recovered share is claimed' in text
