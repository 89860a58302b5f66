"""tools/train.py and tools/test.py through the stock MMEngine Runner on a tiny
generated dataset: train + validate, test reproduces the numbers, resume, CPU DDP."""
import glob
import json
import os
import os.path as osp
import re

import pytest
import torch

from etad_mmaction import testing
from etad_mmaction.testing import free_port, data_opts, final_metrics

pytestmark = pytest.mark.slow  # the fast tier (pytest -m "not slow") skips it

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'configs', 'etad_tiny_synthetic.py')
DUMP = osp.join(ROOT, 'tests', 'configs', 'etad_tiny_synthetic_dump.py')


HELPERS = osp.join(ROOT, 'tests', 'helpers')


def run_tool(args, env_extra=None, timeout=900):
    return testing.run_tool(args, ROOT, (ROOT, HELPERS), env_extra, timeout)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('train')
    data_root = str(tmp / 'data')
    work = str(tmp / 'work')
    log = run_tool(['tools/train.py', DUMP, '--work-dir', work, '--cfg-options',
                    *data_opts(data_root)])
    return dict(data_root=data_root, work=work, log=log)


def test_train_validates_and_checkpoints(trained):
    assert 'mAP@0.50' in trained['log'] and 'avg_mAP' in trained['log']
    assert osp.exists(osp.join(trained['work'], 'epoch_2.pth'))
    assert re.search(r'\|\s+0\.50\s+\|\s+0\.75\s+\|\s+0\.95\s+\|\s+Avg', trained['log'])


def test_test_tool_reproduces_validation(trained, tmp_path):
    val_avg = final_metrics(trained['log'])
    out_json = str(tmp_path / 'submission.json')
    dump = str(tmp_path / 'raw.pkl')
    log = run_tool(['tools/test.py', TINY, osp.join(trained['work'], 'epoch_2.pth'),
                    '--work-dir', str(tmp_path / 'test'), '--out', out_json, '--dump', dump,
                    '--cfg-options', *data_opts(trained['data_root'])])
    assert final_metrics(log) == pytest.approx(val_avg, abs=1e-9)
    # as quiet as train.py: the environment and the config go to the log file only
    assert 'System environment' not in log and 'Config:' not in log
    assert len(log.splitlines()) < 40, log
    sub = json.load(open(out_json))
    assert set(sub) >= {'version', 'results', 'external_data'} and len(sub['results']) == 8
    assert osp.getsize(dump) > 0


def test_resume_reaches_same_parameters(trained, tmp_path):
    """Resume from epoch 1 (under torch >= 2.6 weights-only loading) and finish:
    same final parameters as the uninterrupted run."""
    work = str(tmp_path / 'resumed')
    os.makedirs(work)
    ckpt = osp.join(trained['work'], 'epoch_1.pth')
    run_tool(['tools/train.py', DUMP, '--work-dir', work, '--resume', ckpt, '--cfg-options',
              *data_opts(trained['data_root'])])
    a = torch.load(osp.join(trained['work'], 'params_rank0.pth'))
    b = torch.load(osp.join(work, 'params_rank0.pth'))
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k


def test_cpu_distributed_two_processes(trained, tmp_path):
    """torchrun with 2 CPU processes (gloo): both ranks end with identical parameters."""
    work = str(tmp_path / 'dist')
    run_tool(['-m', 'torch.distributed.run', '--nproc_per_node=2',
              f'--master_port={free_port()}', 'tools/train.py', DUMP, '--launcher', 'pytorch',
              '--work-dir', work, '--cfg-options', *data_opts(trained['data_root']),
              'train_cfg.max_epochs=1', 'val_dataloader.batch_size=2'],
             env_extra=dict(CUDA_VISIBLE_DEVICES=''))
    files = sorted(glob.glob(osp.join(work, 'params_rank*.pth')))
    assert len(files) == 2
    a, b = (torch.load(f) for f in files)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    first = torch.load(osp.join(trained['work'], 'params_rank0.pth'))
    assert any(not torch.equal(first[k], a[k]) for k in a)  # it trained
