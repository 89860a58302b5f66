"""Launch helpers shared by ``tools/train.py`` and ``tools/test.py`` (and mim)."""
import os
import os.path as osp
from typing import Optional

import torch
import torch.distributed as dist


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
