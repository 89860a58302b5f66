"""tools/analysis/sampler_cost.py at toy sizes: every level measured, the JSON it
writes and the section the report renders from it."""
import json
import sys

from etad_mmaction.testing import load_tool

sampler_cost = load_tool('analysis/sampler_cost.py')


def test_sampler_cost_writes_and_renders(tmp_path, monkeypatch):
    out = tmp_path / 'cost.json'
    monkeypatch.setattr(sys, 'argv', [
        'sampler_cost.py', '--repeats', '1', '--num-snippets', '8', '--batch', '2',
        '--samplers', 'RandomSampler', 'FPSSampler', '--batch-samplers', 'FPSSampler',
        '--out', str(out)])
    sampler_cost.main()
    result = json.loads(out.read_text())
    assert set(result['proposals']) == set(result['snippets']) == {'RandomSampler',
                                                                     'FPSSampler'}
    fps = result['proposals']['FPSSampler']
    assert fps['n'] == 8 * 9 // 2 and 0 < fps['k'] < fps['n'] and fps['median_ms'] > 0
    assert result['proposals_batch']['FPSSampler']['batch'] == 2
    assert 'sampler_cost.py' in result['command'] and result['env']['threads'] >= 1
    text = sampler_cost.render(result)
    assert text.startswith('### Sampler cost per video (CPU)')
    assert '| proposals, batch | FPSSampler |' in text
