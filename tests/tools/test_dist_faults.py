"""A rank killed in a 2-process CPU run (issue 24, case 11): the whole run ends
(no rank hangs in a collective) naming the rank, and resuming from the last
checkpoint reaches the parameters of an uninterrupted run."""
import os
import re
import os.path as osp
import subprocess
import sys

import torch

from etad_mmaction import testing
from etad_mmaction.testing import free_port

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DUMP = osp.join(ROOT, 'tests', 'configs', 'etad_tiny_synthetic_dump.py')


def run_tool(args, env_extra=None, timeout=900):
    return testing.run_tool(args, ROOT, (ROOT, osp.join(ROOT, 'tests', 'helpers')), env_extra,
                            timeout)


def dist_args(work, data_root):
    return ['-m', 'torch.distributed.run', '--nproc_per_node=2',
            f'--master_port={free_port()}', 'tools/train.py', DUMP, '--launcher', 'pytorch',
            '--work-dir', work, '--no-validate', '--cfg-options',
            f'train_dataloader.dataset.data_root={data_root}',
            'train_cfg.max_epochs=2', 'randomness.deterministic=True']


def test_killed_rank_ends_the_run_and_resume_matches(tmp_path):
    data_root = str(tmp_path / 'data')
    env = dict(CUDA_VISIBLE_DEVICES='')
    full = str(tmp_path / 'full')
    run_tool(dist_args(full, data_root), env_extra=env)
    # 32 videos / (4 per batch x 2 ranks): 4 iterations per epoch; rank 1 dies before
    # the second iteration of epoch 2, after both ranks passed epoch 1's checkpoint
    killed = str(tmp_path / 'killed')
    proc_env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + osp.join(ROOT, 'tests', 'helpers'),
                    OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='', ETAD_TEST_KILL='1:5')
    # the bound: a rank left waiting in a collective would hang for gloo's 30 minutes
    out = subprocess.run([sys.executable] + dist_args(killed, data_root), cwd=ROOT,
                         env=proc_env, capture_output=True, text=True, timeout=600)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    pid = open(osp.join(killed, 'killed_rank1')).read()
    # torchrun's summary names the rank that died first, its signal and pid
    assert re.search(r'Root Cause.*rank\s*: 1 \(local_rank: 1\)\s*exitcode\s*: -9 \(pid: '
                     + pid + r'\)\s*\(SIGKILL\)', text, re.S), text[-3000:]
    assert osp.exists(osp.join(killed, 'epoch_1.pth'))
    assert not osp.exists(osp.join(killed, 'epoch_2.pth'))
    assert not any(n.startswith('params_rank') for n in os.listdir(killed))
    # rank 0 ended on gloo's closed connection, releasing the work-dir lock (after a
    # SIGKILL of rank 0 the next run takes the lock over); resume and finish
    args = dist_args(killed, data_root)
    run_tool(args[:10] + ['--resume'] + args[10:], env_extra=env)
    for rank in (0, 1):
        a = torch.load(osp.join(full, f'params_rank{rank}.pth'))
        b = torch.load(osp.join(killed, f'params_rank{rank}.pth'))
        for k in a:
            assert torch.equal(a[k], b[k]), (rank, k)
