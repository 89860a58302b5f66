"""Checks that stop a training run before it trains nothing or the wrong thing.

``tools/train.py`` calls them: :func:`check_train_cfg` on the config (an epoch
count that trains nothing), :func:`check_train_iterations` once the runner has
built its training dataloader (no videos, or fewer than one batch per process
with ``drop_last``), and :class:`WorkDirLock` around the run (two trainings
writing one work dir). Each raises a ``ValueError`` / ``RuntimeError`` naming
the config key or the file to change.
"""
import os
import os.path as osp
import socket
import time
from typing import Optional

from ..fileio import pid_alive


def check_train_cfg(cfg) -> None:
    """Refuse ``train_cfg.max_epochs`` / ``max_iters`` that train nothing
    (0, negative, not an integer); MMEngine runs such a config, trains nothing
    and exits 0."""
    train_cfg = cfg.get('train_cfg') or {}
    for key in ('max_epochs', 'max_iters'):
        value = train_cfg.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f'train_cfg.{key}={value!r} trains nothing: it must be a '
                             f'positive integer (e.g. --cfg-options train_cfg.{key}=6)')


def describe_dataset(dataset) -> str:
    """What a dataset selected, for error messages: the dataset's own
    ``selection_summary()`` when it has one (``TADFeatureDataset``)."""
    summary = getattr(dataset, 'selection_summary', None)
    text = summary() if callable(summary) else None
    return text or f'{type(dataset).__name__} with {len(dataset)} samples'


def _infinite(loader) -> bool:
    """Whether the loader's sampler is MMEngine's ``InfiniteSampler`` (it has a
    length, the dataset's, but never ends)."""
    from mmengine.dataset import InfiniteSampler
    batch_sampler = getattr(loader, 'batch_sampler', None)
    samplers = (getattr(loader, 'sampler', None), getattr(batch_sampler, 'sampler', None))
    return any(isinstance(s, InfiniteSampler) for s in samplers)


def check_train_iterations(runner) -> int:
    """The number of training iterations per epoch (-1 for an infinite sampler,
    ``IterBasedTrainLoop``); raises before training when it is 0: an empty
    training set (naming what the dataset selected), or fewer
    samples than ``batch_size`` x processes with ``drop_last=True`` (MMEngine then
    trains no iteration, saves the initial weights and exits 0)."""
    loop = runner.train_loop
    loader = getattr(loop, 'dataloader', None)
    if loader is None or not hasattr(loader, '__len__'):
        return -1
    try:
        iters = len(loader)
    except TypeError:   # a sampler without a length
        return -1
    dataset = loader.dataset
    size = len(dataset)
    if size == 0:
        raise ValueError(f'no training videos: {describe_dataset(dataset)}. Fix '
                         'train_dataloader.dataset (subset, ann_file, exclude_videos) so '
                         'that it selects videos with annotations')
    if _infinite(loader):  # IterBasedTrainLoop: batches fill up whatever the size
        return -1
    if iters > 0:
        return iters
    world = getattr(loader.sampler, 'world_size', 1)
    batch = loader.batch_size
    drop_last = loader.drop_last
    per_rank = -(-size // world)
    raise ValueError(
        f'no training iteration: the training set has {size} samples, {per_rank} per '
        f'process with {world} process(es), fewer than train_dataloader.batch_size={batch} '
        f'with drop_last={drop_last}, so every epoch would train on nothing. Set '
        f'--cfg-options train_dataloader.batch_size={max(1, per_rank)} (or less), train '
        'with fewer processes, or set train_dataloader.drop_last=False')


def _start_time(pid: int) -> Optional[str]:
    """The start time of process ``pid`` (Linux ``/proc``), to tell a live
    process from a new one that reuses a dead one's id; None where unknown."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class WorkDirLockedError(RuntimeError):
    """Another training run holds the work dir."""


class WorkDirLock:
    """``<work_dir>/.train.lock``: one training run per work dir.

    The run holds an exclusive ``flock`` on the file for its lifetime (the kernel
    drops it when the process dies: kill -9, OOM, a lost container); the file
    records pid, start time and host for the messages. A second run that cannot
    take the ``flock`` raises :class:`WorkDirLockedError` naming that run (two runs
    would interleave their logs and delete each other's checkpoints). A lock file
    whose ``flock`` is free is stale, whatever host wrote it, and is taken over
    with a message (Slurm requeue, resume elsewhere). Where ``flock`` is not
    available, a same-host pid check decides. Multi-process runs: rank 0 takes it.
    """

    NAME = '.train.lock'

    def __init__(self, work_dir: str, logger=None):
        self.path = osp.join(osp.abspath(work_dir), self.NAME)
        self.logger = logger
        self.held = False
        self._fd: Optional[int] = None

    def _content(self) -> str:
        pid = os.getpid()
        return (f'pid={pid}\nstart={_start_time(pid)}\nhost={socket.gethostname()}\n'
                f'since={time.strftime("%Y-%m-%d %H:%M:%S")}\n')

    @staticmethod
    def read(path: str) -> dict:
        try:
            with open(path) as f:
                return dict(line.split('=', 1) for line in f.read().splitlines()
                            if '=' in line)
        except OSError:
            return {}

    def _stale(self, info: dict) -> bool:
        """Without ``flock``: only a dead process of this host is known to be gone."""
        if info.get('host') != socket.gethostname():
            return False      # cannot tell: another machine's process may be alive
        try:
            pid = int(info.get('pid', ''))
        except ValueError:
            return True       # not a lock this class wrote
        if not pid_alive(pid):
            return True
        start = info.get('start')
        return start not in (None, 'None') and _start_time(pid) not in (None, start)

    def _refuse(self, info: dict):
        return WorkDirLockedError(
            f'another training run uses the work dir {osp.dirname(self.path)} '
            f'(pid {info.get("pid", "?")} on host {info.get("host", "?")}, since '
            f'{info.get("since", "?")}; lock file {self.path}). Two runs in one '
            'work dir interleave their logs and delete each other\'s checkpoints: '
            'give this run another --work-dir, or wait for that one to end.')

    def _take_over(self, info: dict) -> None:
        if info and self.logger is not None:
            self.logger.warning(
                f'taking over the lock {self.path} of a run that no longer exists '
                f'(pid {info.get("pid", "?")} on host {info.get("host", "?")}, since '
                f'{info.get("since", "?")})')

    def _flock(self, fd: int) -> Optional[bool]:
        """True: taken; False: another process holds it; None: no ``flock`` here."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - non-POSIX
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        except OSError:      # a file system without flock
            return None

    def acquire(self) -> 'WorkDirLock':
        os.makedirs(osp.dirname(self.path), exist_ok=True)
        for _ in range(3):
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            taken = self._flock(fd)
            if taken is None:
                os.close(fd)
                return self._acquire_by_pid()
            info = self.read(self.path)
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:      # released (removed) in between: open the new file
                os.close(fd)
                continue
            if not taken:
                os.close(fd)
                raise self._refuse(info)
            self._take_over(info)
            os.ftruncate(fd, 0)
            os.write(fd, self._content().encode())
            self._fd, self.held = fd, True
            return self
        raise WorkDirLockedError(f'cannot take the lock {self.path}: another run keeps '
                                 'taking it')

    def _acquire_by_pid(self) -> 'WorkDirLock':
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                info = self.read(self.path)
                if info and not self._stale(info):
                    raise self._refuse(info) from None
                self._take_over(info)
                try:
                    os.remove(self.path)
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, 'w') as f:
                f.write(self._content())
            self.held = True
            return self
        raise WorkDirLockedError(f'cannot take the lock {self.path}: another run keeps '
                                 'taking it')

    def release(self) -> None:
        if self.held and (self._fd is not None
                          or self.read(self.path).get('pid') == str(os.getpid())):
            try:
                os.remove(self.path)   # while still holding the flock
            except FileNotFoundError:
                pass
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.held = False

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
