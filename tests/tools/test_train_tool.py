"""tools/train.py additions: schedule check, per-launch work dirs, a quiet console,
and a word when --resume finds a finished run."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
from mmengine.config import Config

from etad_mmaction.engine.guards import WorkDirLock
from etad_mmaction.testing import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'configs', 'etad_tiny_synthetic.py')


train_tool = load_tool('train.py')


def schedule_cfg(max_epochs, milestones=(5,), end=6):
    return Config(dict(train_cfg=dict(max_epochs=max_epochs), param_scheduler=[
        dict(type='MultiStepLR', by_epoch=True, begin=0, end=end,
             milestones=list(milestones))]))


def test_schedule_past_max_epochs_warns():
    with pytest.warns(UserWarning) as rec:
        found = train_tool.check_schedule(schedule_cfg(3))
    assert [str(w.message) for w in rec] == found and len(found) == 2
    assert 'milestones [5]' in found[0] and 'max_epochs=3' in found[0]
    assert 'end=6' in found[1] and 'param_scheduler.0.end=3' in found[1]


def test_schedule_within_max_epochs_is_silent(recwarn):
    assert train_tool.check_schedule(schedule_cfg(6)) == []
    assert train_tool.check_schedule(schedule_cfg(4, milestones=(3,), end=4)) == []
    iters = Config(dict(train_cfg=dict(max_epochs=2), param_scheduler=dict(
        type='LinearLR', by_epoch=False, begin=0, end=500)))
    assert train_tool.check_schedule(iters) == []  # iteration-based: not compared
    assert not recwarn.list


def test_shipped_configs_schedules_fit():
    for name in ('etad_1xb16-6e_synthetic-anet-feature.py', 'etad_1xb16-6e_anet-tsp-feature.py',
                 'etad_1xb16-6e_thumos-i3d-feature.py', 'etad_1xb16-6e_hacs-slowfast-feature.py'):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', 'etad', name))
        assert train_tool.check_schedule(cfg) == [], name


def test_multi_process_launch_gets_its_own_work_dir(monkeypatch):
    cfg = Config(dict())
    cfg_path = 'configs/etad/etad_1xb16-6e_synthetic-anet-feature.py'
    single = train_tool.launch_work_dir(cfg, cfg_path, None, 'none')
    assert single == osp.join('./work_dirs', 'etad_1xb16-6e_synthetic-anet-feature')
    monkeypatch.setenv('WORLD_SIZE', '2')
    assert train_tool.launch_work_dir(cfg, cfg_path, None, 'pytorch') == single + '_2procs'
    # named work dirs are kept as given
    assert train_tool.launch_work_dir(cfg, cfg_path, 'w', 'pytorch') == 'w'
    assert train_tool.launch_work_dir(Config(dict(work_dir='c')), cfg_path, None,
                                      'pytorch') == 'c'
    monkeypatch.setenv('WORLD_SIZE', '1')
    assert train_tool.launch_work_dir(cfg, cfg_path, None, 'pytorch') == single


@pytest.mark.parametrize('env,rank', [({}, 0), ({'RANK': '2'}, 2),
                                      ({'SLURM_PROCID': '3'}, 3),
                                      ({'RANK': '0', 'SLURM_PROCID': '3'}, 0)])
def test_launch_rank_reads_slurm_procid(monkeypatch, tmp_path, env, rank):
    for key in ('RANK', 'SLURM_PROCID'):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert train_tool.launch_rank() == rank
    lock = train_tool.work_dir_lock(Config(dict(work_dir=str(tmp_path))))
    assert (lock is None) == (rank != 0)


def test_cpu_threads_default(monkeypatch):
    import torch
    before = torch.get_num_threads()
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    try:
        monkeypatch.setenv('OMP_NUM_THREADS', '3')
        assert train_tool.set_cpu_threads() is None  # the user's choice is kept
        monkeypatch.delenv('OMP_NUM_THREADS')
        for cores, threads in ((1, 1), (2, 1), (16, 8)):
            monkeypatch.setattr(os, 'sched_getaffinity', lambda pid, n=cores: set(range(n)))
            assert train_tool.set_cpu_threads() == threads
            assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)


def run_train(args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), TINY, *args],
                         cwd=cwd, capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout + out.stderr


@pytest.mark.slow
def test_quiet_console_and_resume_of_a_finished_run(tmp_path):
    work = str(tmp_path / 'work')
    opts = ['--cfg-options', f'train_dataloader.dataset.data_root={tmp_path / "data"}',
            'train_cfg.max_epochs=1']
    log = run_train(['--work-dir', work, '--no-validate', *opts], tmp_path)
    assert 'System environment' not in log and 'Config:' not in log
    assert 'Hooks will be executed' not in log
    assert 'FileClient' not in log and 'HardDiskBackend' not in log
    assert 'Epoch(train) [1]' in log
    log_files = [osp.join(d, f) for d, _, fs in os.walk(work) for f in fs if f.endswith('.log')]
    assert len(log_files) == 1
    with open(log_files[0]) as f:
        text = f.read()
    assert 'System environment' in text and 'Config:' in text  # the file keeps them
    assert 'Hooks will be executed' in text
    assert log_files[0] in log  # and the console says where they are
    assert 'already finished' not in log

    again = run_train(['--work-dir', work, '--no-validate', '--resume', *opts], tmp_path)
    assert 'already finished' in again and 'Epoch(train)' not in again


def run_train_failing(args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), TINY, *args],
                         cwd=cwd, capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode != 0, out.stdout[-2000:]
    return out.stderr


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    return tmp_path_factory.mktemp('tiny') / 'data'


@pytest.mark.parametrize('option,expected', [
    ('train_dataloader.batch_size=64', 'the training set has 32 samples, 32 per process with '
     '1 process(es), fewer than train_dataloader.batch_size=64 with drop_last=True'),
    ('train_dataloader.dataset.subset=train', "no training videos: 0 of the 40 videos of"),
])
def test_runs_that_would_train_nothing_stop_before_training(tmp_path, tiny_data, option,
                                                             expected):
    """Issue 24, cases 3 and 4: MMEngine trained 0 iterations (or died in its
    sampler) and saved the initial weights as "best"."""
    work = tmp_path / 'work'
    err = run_train_failing(['--work-dir', str(work), '--cfg-options',
                             f'train_dataloader.dataset.data_root={tiny_data}',
                             f'val_dataloader.dataset.data_root={tiny_data}',
                             option], tmp_path)
    assert expected in err, err[-3000:]
    assert not list(work.glob('*.pth')) and not (work / '.train.lock').exists()


def test_max_epochs_zero_and_a_held_work_dir_are_refused(tmp_path):
    """Issue 24, cases 5 and 6 through tools/train.py (before anything is built)."""
    err = run_train_failing(['--work-dir', str(tmp_path / 'w'), '--cfg-options',
                             'train_cfg.max_epochs=0'], tmp_path)
    assert 'train_cfg.max_epochs=0 trains nothing' in err
    held = WorkDirLock(str(tmp_path / 'w')).acquire()     # this process holds it
    try:
        err = run_train_failing(['--work-dir', str(tmp_path / 'w')], tmp_path)
        assert (f'another training run uses the work dir {tmp_path / "w"} (pid '
                f'{os.getpid()} on host {socket.gethostname()}') in err
        assert WorkDirLock.read(held.path)['pid'] == str(os.getpid())  # the holder's lock
    finally:
        held.release()
