"""tools/test.py fails before the work: a checkpoint of another model (strict
loading, naming the checkpoint and keys), an --out that cannot be written; and
says where it wrote."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

import etad_mmaction  # noqa: F401
from etad_mmaction.testing import data_opts, load_tool
from mmaction.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'configs', 'etad_tiny_synthetic.py')
DUMP = osp.join(ROOT, 'tests', 'configs', 'etad_tiny_synthetic_dump.py')

pytestmark = pytest.mark.slow  # the fast tier (pytest -m "not slow") skips it

test_tool = load_tool('test.py')


def _run(args):
    env = dict(__import__('os').environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, 'tools/test.py', *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_out_into_a_file_parent_fails_before_the_work(tmp_path):
    blocker = tmp_path / 'results'
    blocker.write_text('a file, not a folder')
    out = str(blocker / 'sub.json')
    proc = _run([TINY, str(tmp_path / 'no_such.pth'), '--out', out])
    assert proc.returncode != 0
    assert out in proc.stderr and 'cannot create the folder' in proc.stderr
    assert 'Traceback' not in proc.stderr
    args = test_tool.parse_args([TINY, 'x.pth', '--out', str(tmp_path)])
    with pytest.raises(SystemExit, match='is a folder'):
        test_tool.check_output_paths(args)
    args = test_tool.parse_args([TINY, 'x.pth', '--out', str(tmp_path / 'new' / 'sub.json')])
    test_tool.check_output_paths(args)   # a missing folder is created
    assert (tmp_path / 'new').is_dir()


def test_test_config_loads_strictly():
    args = test_tool.parse_args([TINY, 'x.pth', '--out', 'sub.json', '--cfg-options',
                                 'default_hooks.checkpoint.type=CheckpointHook'])
    cfg = test_tool.build_cfg(args)
    assert cfg.default_hooks.checkpoint.type == 'ETADCheckpointHook'
    assert cfg.default_hooks.checkpoint.get('strict_load', True)
    anet = osp.join(ROOT, 'configs', 'etad', 'etad_1xb16-6e_anet-tsp-feature.py')
    for path in (TINY, DUMP, anet):
        cfg = Config.fromfile(path, import_custom_modules=False)   # configs use the hooks
        assert cfg.default_hooks.checkpoint.type == 'ETADCheckpointHook', path
        assert {'ETADSamplingHook', 'NonFiniteCheckHook'} <= {h['type'] for h in
                                                              cfg.custom_hooks}, path


def test_checkpoint_of_another_model_is_an_error(tmp_path):
    cfg = Config.fromfile(TINY)
    state = MODELS.build(cfg.model).state_dict()
    good = str(tmp_path / 'this_model.pth')
    torch.save(dict(state_dict=state, meta=dict()), good)
    out = tmp_path / 'good' / 'sub.json'
    proc = _run([TINY, good, '--out', str(out), '--work-dir', str(tmp_path / 'w'),
                 '--cfg-options', *data_opts(str(tmp_path / 'data'))])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'wrote the submission to {out}' in proc.stdout + proc.stderr and out.exists()
    key = next(k for k, v in state.items() if v.ndim >= 2)
    state[key] = torch.zeros(*[2 * n for n in state[key].shape])   # another width
    ckpt = str(tmp_path / 'other_model.pth')
    torch.save(dict(state_dict=state, meta=dict()), ckpt)
    out = tmp_path / 'sub.json'
    proc = _run([TINY, ckpt, '--out', str(out), '--work-dir', str(tmp_path / 'w'),
                 '--cfg-options', *data_opts(str(tmp_path / 'data'))])
    assert proc.returncode != 0
    assert ckpt in proc.stderr and key in proc.stderr and 'does not match' in proc.stderr
    assert not out.exists()
