"""Launch helpers shared by ``tools/train.py``, ``tools/test.py`` (and mim), the
demo, feature extraction and the benchmark tools: the CPU thread policy, a quiet
console, CPU distributed setup, ``--amp`` and ``--compile``."""
import logging
import os
import os.path as osp
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.runner import Runner


def setup_cpu_distributed(cfg, launcher: str) -> bool:
    """Make ``--launcher pytorch`` work without CUDA.

    MMEngine's stock setup calls ``torch.cuda.set_device`` and wraps the model
    with ``device_ids``; on a CPU-only machine this initialises the gloo process
    group from the torchrun environment first (the runner then skips its own
    ``init_dist``) and selects ``ETADDistributedDataParallel``. With CUDA it does
    nothing: the stock nccl path is used. Returns True when it took over.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher == 'slurm':
        os.environ.setdefault('RANK', os.environ.get('SLURM_PROCID', '0'))
        os.environ.setdefault('WORLD_SIZE', os.environ.get('SLURM_NTASKS', '1'))
        os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
        os.environ.setdefault('MASTER_PORT', '29500')
        os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        if key not in os.environ:
            raise RuntimeError(f'--launcher {launcher}: environment variable {key} is not set; '
                               'start the job with torchrun (tools/dist_train.sh)')
    if not dist.is_initialized():
        dist.init_process_group('gloo', rank=int(os.environ['RANK']),
                                world_size=int(os.environ['WORLD_SIZE']))
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or {}
    if wrapper.get('type', 'MMDistributedDataParallel') == 'MMDistributedDataParallel':
        # scoped name: MMEngine's runner looks wrappers up in its root registry
        wrapper = dict(wrapper, type='mmaction.ETADDistributedDataParallel')
    cfg.model_wrapper_cfg = wrapper
    return True


def apply_amp(cfg) -> None:
    """``--amp``: MMEngine's ``AmpOptimWrapper`` on CUDA, ``CPUBf16OptimWrapper`` on CPU."""
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper not in ('OptimWrapper', 'AmpOptimWrapper', 'CPUBf16OptimWrapper'):
        raise ValueError(f'--amp does not support optim_wrapper.type={wrapper!r}')
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    else:
        cfg.optim_wrapper.type = 'CPUBf16OptimWrapper'
        cfg.optim_wrapper.pop('loss_scale', None)


def default_work_dir(cfg, config_path: str, work_dir=None) -> str:
    """CLI > config > ``./work_dirs/<config name>`` (MMAction2's rule)."""
    if work_dir is not None:
        return work_dir
    if cfg.get('work_dir', None) is not None:
        return cfg.work_dir
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def apply_compile(cfg, mode: Optional[str] = None) -> None:
    """``--compile [MODE]`` or MMEngine's ``compile=`` key -> ``ETADCompileHook``
    (the detector's tensor program compiled as one graph, not MMEngine's whole
    ``train_step``)."""
    options = cfg.pop('compile', None)
    if mode is not None:
        options = dict(options or {}) if isinstance(options, dict) else {}
        options['mode'] = mode
    if options is None or options is False:
        return
    options = {} if options is True else dict(options)
    hooks = [h for h in cfg.get('custom_hooks') or [] if h.get('type') != 'ETADCompileHook']
    cfg.custom_hooks = hooks + [dict(type='ETADCompileHook', **options)]


def set_cpu_threads(logger=None, what: str = 'CPU run') -> Optional[int]:
    """The one CPU thread policy of every tool: intra-op threads when the user set
    none (``OMP_NUM_THREADS``).

    PyTorch starts one thread per core; beside the dataloader workers, and on
    machines whose cores other work shares, its OpenMP threads wait on each other at
    every operation (docs/getting_started.md: on a busy 2-core machine training steps
    were 3.5x slower with 2 threads than with 1). Half the cores (at least 1) leaves
    room for the workers. torchrun sets ``OMP_NUM_THREADS=1`` per process itself.
    Returns the number set, or None when left alone (CUDA, or the variable is set);
    ``logger`` gets one line saying which."""
    if torch.cuda.is_available():
        return None
    if os.environ.get('OMP_NUM_THREADS'):
        if logger is not None:
            logger.info(f'{what} with {torch.get_num_threads()} torch threads '
                        f'(OMP_NUM_THREADS={os.environ["OMP_NUM_THREADS"]})')
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') \
        else (os.cpu_count() or 1)
    threads = max(1, cores // 2)
    torch.set_num_threads(threads)
    if logger is not None:
        logger.info(f'{what} with {threads} torch threads (half the cores; set '
                    'OMP_NUM_THREADS to choose)')
    return threads


def thread_record() -> dict:
    """What a benchmark records of its threads: torch's intra-op count and the
    variables that set it."""
    return dict(torch_threads=torch.get_num_threads(),
                OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS'),
                cores=len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity')
                else os.cpu_count())


def _console_handlers(logger):
    return [h for h in logger.handlers
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]


class QuietRunner(Runner):
    """The stock Runner, except that what it logs while it is built (the
    environment, the config and the hook table: about 300 lines) goes to the log
    file only; the console gets warnings and one line saying where the rest is."""

    def __init__(self, *args, **kwargs):
        self._console_levels = []
        try:
            super().__init__(*args, **kwargs)
        finally:
            for h, level in self._console_levels:
                h.setLevel(level)
        self.logger.info(f'work dir {self.work_dir}; environment, config and hooks in '
                         f'{osp.join(self.log_dir, self.timestamp + ".log")} (--verbose '
                         'prints them here)')

    def _log_env(self, env_cfg):
        # the first thing logged once the logger exists: quiet its console from here on
        for h in _console_handlers(self.logger):
            self._console_levels.append((h, h.level))
            h.setLevel(max(h.level, logging.WARNING))
        super()._log_env(env_cfg)


class _DropDeprecationNotices(logging.Filter):
    """MMEngine's own CheckpointHook builds a FileClient; its deprecation notices
    are not the user's to act on."""

    NOTICES = ('"FileClient" will be deprecated', '"HardDiskBackend" is the alias')

    def filter(self, record):
        return not any(n in str(record.msg) for n in self.NOTICES)


class _DropParamwiseDetails(logging.Filter):
    """Console only: MMEngine's optimizer constructor logs one line per parameter
    (options, and every frozen one it skips); they stay in the log file."""

    PARTS = ('paramwise_options -- ', 'since its requires_grad=False')

    def filter(self, record):
        return not any(p in str(record.msg) for p in self.PARTS)


def quiet_console(runner, verbose: bool = False):
    """The console filters of ``tools/train.py`` and ``tools/test.py``."""
    runner.logger.addFilter(_DropDeprecationNotices())
    if not verbose:
        for h in _console_handlers(runner.logger):
            h.addFilter(_DropParamwiseDetails())
    return runner
