"""Runs that would train nothing or clash stop before training (issue 24, cases 3-6):
an empty training set, fewer samples than one batch per process with drop_last,
max_epochs that trains nothing, two runs in one work dir."""
import os
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import DefaultSampler, InfiniteSampler

import etad_mmaction
from etad_mmaction.engine.guards import (WorkDirLock, WorkDirLockedError, check_train_cfg,
                                         check_train_iterations)


class Sized(torch.utils.data.Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i


def fake_runner(n, batch, drop_last=True, world=1):
    sampler = DefaultSampler(Sized(n), shuffle=False)
    sampler.world_size, sampler.num_samples = world, -(-n // world)
    loader = torch.utils.data.DataLoader(Sized(n), batch_size=batch, sampler=sampler,
                                         drop_last=drop_last)
    return SimpleNamespace(train_loop=SimpleNamespace(dataloader=loader))


def test_fewer_samples_than_a_batch_per_process_is_refused():
    with pytest.raises(ValueError) as err:
        check_train_iterations(fake_runner(12, 16))
    msg = str(err.value)
    assert 'no training iteration' in msg and 'has 12 samples' in msg
    assert 'batch_size=16' in msg and 'drop_last=True' in msg
    assert 'train_dataloader.batch_size=12' in msg
    with pytest.raises(ValueError, match=r'10 per process with 2 process\(es\).*batch_size=10'):
        check_train_iterations(fake_runner(20, 16, world=2))
    assert check_train_iterations(fake_runner(12, 16, drop_last=False)) == 1
    assert check_train_iterations(fake_runner(32, 16)) == 2


def test_infinite_sampler_is_not_counted():
    """IterBasedTrainLoop's InfiniteSampler fills a batch of 16 from 12 samples."""
    loader = torch.utils.data.DataLoader(Sized(12), batch_size=16, drop_last=True,
                                         sampler=InfiniteSampler(Sized(12), shuffle=False))
    runner = SimpleNamespace(train_loop=SimpleNamespace(dataloader=loader))
    assert check_train_iterations(runner) == -1
    assert len(next(iter(loader))) == 16
    loader = torch.utils.data.DataLoader(Sized(0), batch_size=16,
                                         sampler=InfiniteSampler(Sized(0), shuffle=False))
    with pytest.raises(ValueError, match='no training videos'):   # would never yield
        check_train_iterations(SimpleNamespace(train_loop=SimpleNamespace(dataloader=loader)))


def test_max_epochs_that_train_nothing_are_refused():
    for value in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match=f'train_cfg.max_epochs={value!r} trains nothing'):
            check_train_cfg(Config(dict(train_cfg=dict(max_epochs=value))))
    with pytest.raises(ValueError, match='train_cfg.max_iters=0'):
        check_train_cfg(Config(dict(train_cfg=dict(type='IterBasedTrainLoop', max_iters=0))))
    check_train_cfg(Config(dict(train_cfg=dict(max_epochs=1))))
    check_train_cfg(Config(dict()))


def test_second_run_in_a_work_dir_is_refused(tmp_path):
    first = WorkDirLock(str(tmp_path)).acquire()
    with pytest.raises(WorkDirLockedError) as err:
        WorkDirLock(str(tmp_path)).acquire()
    msg = str(err.value)
    assert f'pid {os.getpid()} on host {socket.gethostname()}' in msg
    assert str(tmp_path / '.train.lock') in msg and '--work-dir' in msg
    first.release()
    assert not (tmp_path / '.train.lock').exists()
    WorkDirLock(str(tmp_path)).acquire().release()


def test_lock_of_a_dead_run_is_taken_over(tmp_path, caplog):
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    (tmp_path / '.train.lock').write_text(f'pid={dead.pid}\nstart=1\n'
                                          f'host={socket.gethostname()}\nsince=then\n')
    messages = []
    logger = SimpleNamespace(warning=messages.append)
    lock = WorkDirLock(str(tmp_path), logger=logger).acquire()
    assert messages and f'pid {dead.pid}' in messages[0] and 'no longer exists' in messages[0]
    assert WorkDirLock.read(str(tmp_path / '.train.lock'))['pid'] == str(os.getpid())
    lock.release()
    # a live pid with another start time: the id was reused by another process
    (tmp_path / '.train.lock').write_text(f'pid={os.getpid()}\nstart=-5\n'
                                          f'host={socket.gethostname()}\n')
    WorkDirLock(str(tmp_path)).acquire().release()


def test_stale_lock_written_by_another_host_is_taken_over(tmp_path):
    """kill -9 / OOM on one host, resume on another (Slurm requeue): the flock died
    with the process, so the file left behind does not block the resume."""
    (tmp_path / '.train.lock').write_text('pid=1\nstart=1\nhost=some-other-host\n'
                                          'since=then\n')
    messages = []
    lock = WorkDirLock(str(tmp_path), logger=SimpleNamespace(warning=messages.append))
    lock.acquire()
    assert len(messages) == 1 and 'pid 1 on host some-other-host' in messages[0]
    info = WorkDirLock.read(str(tmp_path / '.train.lock'))
    assert info['pid'] == str(os.getpid()) and info['host'] == socket.gethostname()
    lock.release()
    # a live run in another process holds it; killed with -9, its lock is free
    code = ('import sys, time; from etad_mmaction.engine.guards import WorkDirLock; '
            'WorkDirLock(sys.argv[1]).acquire(); print("held", flush=True); time.sleep(60)')
    package = os.path.dirname(os.path.abspath(etad_mmaction.__file__))
    env = dict(os.environ, PYTHONPATH=os.path.dirname(package))
    holder = subprocess.Popen([sys.executable, '-c', code, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == 'held'
        with pytest.raises(WorkDirLockedError, match=f'pid {holder.pid} on host'):
            WorkDirLock(str(tmp_path)).acquire()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    WorkDirLock(str(tmp_path)).acquire().release()
