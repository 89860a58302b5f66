"""tools/analysis/neck_cost.py at toy sizes: every neck's parameter count (from the
module) and a step time; the JSON written atomically."""
import json
import sys

from etad_mmaction.testing import load_tool

neck_cost = load_tool('analysis/neck_cost.py')


def test_neck_cost_writes_every_neck(tmp_path, monkeypatch, capsys):
    out = tmp_path / 'necks.json'
    monkeypatch.setattr(sys, 'argv', ['neck_cost.py', '--batch', '1', '--num-snippets', '4',
                                      '--in-channels', '16', '--repeats', '1',
                                      '--out', str(out)])
    neck_cost.main()
    result = json.loads(out.read_text())
    assert json.loads(capsys.readouterr().out) == result
    assert set(result) == {'settings', 'env', 'command', *neck_cost.NECKS}
    assert result['env']['threads'] >= 1 and 'neck_cost.py' in result['command']
    assert neck_cost.render(result).startswith('### Feature enhancement modules')
    # counts of the default widths at 16 input channels: the Conv module is the
    # smallest, one LSTM branch less than both, the Transformer the largest
    p = {k: result[k]['params'] for k in neck_cost.NECKS}
    assert p['conv'] < p['lstm-forward'] < p['lstm'] < p['transformer']
    assert all(result[k]['median_ms'] > 0 for k in neck_cost.NECKS)
