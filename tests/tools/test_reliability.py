"""Long-run reliability: truncated checkpoints that fail naming the file, resume after
kill -9 reaching the same parameters and mAP, determinism. (Atomic checkpoint writes
are ETADCheckpointHook's: tests/engine/test_hooks.py.)"""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from torch import nn

import etad_mmaction  # noqa: F401
from mmengine.runner import load_checkpoint
from mmengine.runner import runner as runner_mod

from etad_mmaction import testing
from etad_mmaction.testing import data_opts, final_metrics

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DUMP = osp.join(ROOT, 'tests', 'configs', 'etad_tiny_synthetic_dump.py')


def run_tool(args, env_extra=None, timeout=900):
    return testing.run_tool(args, ROOT, (ROOT, osp.join(ROOT, 'tests', 'helpers')),
                            env_extra, timeout)

pytestmark = pytest.mark.slow  # the fast tier (pytest -m "not slow") skips it


@pytest.mark.parametrize('damage', ['truncate', 'garbage'])
def test_damaged_checkpoint_error_names_file(tmp_path, damage):
    from etad_mmaction.engine import checkpoint_io
    checkpoint_io.apply()     # as ETADCheckpointHook and init_detector do (not at import)
    model = nn.Linear(3, 2)
    path = str(tmp_path / 'epoch_7.pth')
    runner_mod.save_checkpoint({'state_dict': model.state_dict()}, path)
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2] if damage == 'truncate' else b'\x00garbage' * 50)
    with pytest.raises(Exception, match='epoch_7.pth'):
        load_checkpoint(model, path)
    open(path, 'wb').close()                          # empty file: still a clear error
    with pytest.raises(Exception, match='epoch_7.pth'):
        load_checkpoint(model, path)


def _train_args(work, data_root, epochs, deterministic=True):
    return ['tools/train.py', DUMP, '--work-dir', work, '--cfg-options',
            *data_opts(data_root), f'train_cfg.max_epochs={epochs}',
            f'randomness.deterministic={deterministic}']


def test_resume_after_kill_9_matches_uninterrupted_run(tmp_path):
    data_root = str(tmp_path / 'data')
    full = str(tmp_path / 'full')
    log_full = run_tool(_train_args(full, data_root, 3))
    # the same run, killed with SIGKILL once the epoch-1 checkpoint exists
    killed = str(tmp_path / 'killed')
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + osp.join(ROOT, 'tests', 'helpers'),
               OMP_NUM_THREADS='1')
    proc = subprocess.Popen([sys.executable] + _train_args(killed, data_root, 3), cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while not osp.exists(osp.join(killed, 'epoch_1.pth')):
        assert proc.poll() is None and time.time() < deadline, 'run ended before epoch 1'
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not osp.exists(osp.join(killed, 'epoch_3.pth'))
    args = _train_args(killed, data_root, 3)
    log_resumed = run_tool(args[:4] + ['--resume', 'auto'] + args[4:])
    assert 'resumed' in log_resumed.lower() or 'resume' in log_resumed.lower()
    a = torch.load(osp.join(full, 'params_rank0.pth'))
    b = torch.load(osp.join(killed, 'params_rank0.pth'))
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert final_metrics(log_resumed) == final_metrics(log_full)


def test_deterministic_runs_identical(tmp_path):
    data_root = str(tmp_path / 'data')
    params = []
    for i in range(2):
        work = str(tmp_path / f'run{i}')
        run_tool(_train_args(work, data_root, 1))
        params.append(torch.load(osp.join(work, 'params_rank0.pth')))
    for k in params[0]:
        assert torch.equal(params[0][k], params[1][k]), k
