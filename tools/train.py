# Train an ETAD model with the stock MMEngine Runner (MMAction2-style tool).
import argparse
import logging
import os
import warnings

import etad_mmaction  # noqa: F401  (compat layer + registries, before mmaction.models)
from etad_mmaction.engine import (apply_amp, apply_compile, default_work_dir,
                                  setup_cpu_distributed)
from etad_mmaction.engine.launcher import QuietRunner, quiet_console, set_cpu_threads
from etad_mmaction.engine.checkpoint_hook import find_resume_checkpoint
from etad_mmaction.engine.guards import WorkDirLock, check_train_cfg, check_train_iterations
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop, Runner, find_latest_checkpoint

from mmaction.registry import RUNNERS


def parse_args():
    parser = argparse.ArgumentParser(description='Train an ETAD temporal action detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint, or from the latest one in '
                        'the work dir when no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: AmpOptimWrapper on CUDA, bf16 autocast on CPU')
    parser.add_argument('--compile', nargs='?', const='default', default=None,
                        metavar='MODE',
                        help='compile the training step with torch.compile (ETADCompileHook); '
                        'MODE: default, reduce-overhead (CUDA graphs), '
                        'max-autotune-no-cudagraphs, ...')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the total batch (batch size per '
                        'process x processes) over auto_scale_lr.base_batch_size')
    parser.add_argument('--verbose', action='store_true',
                        help='also print the environment and the full config on the console '
                        '(they are always written to the log file)')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic algorithms (torch.use_deterministic_algorithms)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def launch_work_dir(cfg, config_path, work_dir, launcher):
    """``default_work_dir``, plus ``_<N>procs`` for a multi-process launch that names
    no work dir, so that it does not share (and resume) a single-process run's state."""
    if work_dir is not None or cfg.get('work_dir', None) is not None:
        return default_work_dir(cfg, config_path, work_dir)
    path = default_work_dir(cfg, config_path)
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if launcher != 'none' and world > 1:
        path = f'{path}_{world}procs'
    return path


def check_schedule(cfg):
    """Warn when an epoch-based scheduler's milestones or end lie at or past
    ``train_cfg.max_epochs`` (for example after shortening a run): that part of the
    schedule never takes effect. Returns the warning texts."""
    max_epochs = (cfg.get('train_cfg') or {}).get('max_epochs')
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    if max_epochs is None:
        return []
    found = []
    for i, s in enumerate(schedulers):
        if not s.get('by_epoch', True):
            continue
        name = s.get('type', 'scheduler')
        late = [m for m in s.get('milestones', []) if m >= max_epochs]
        if late:
            found.append(f'param_scheduler[{i}] ({name}): milestones {late} are at or past '
                         f'train_cfg.max_epochs={max_epochs}, so that decay never happens; '
                         f'set them, e.g. --cfg-options "param_scheduler.{i}.milestones=[...]"')
        end = s.get('end')
        if end is not None and end > max_epochs:
            found.append(f'param_scheduler[{i}] ({name}): end={end} is past '
                         f'train_cfg.max_epochs={max_epochs}, so the schedule is cut short; '
                         f'set --cfg-options param_scheduler.{i}.end={max_epochs}')
    for text in found:
        warnings.warn(text, UserWarning, stacklevel=2)
    return found


def merge_args(cfg, args):
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.launcher = args.launcher
    cfg.work_dir = launch_work_dir(cfg, args.config, args.work_dir, args.launcher)
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', dict(base_batch_size=16))['enable'] = True
    if args.amp:
        apply_amp(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.seed is not None or args.deterministic or cfg.get('randomness') is None:
        randomness = dict(cfg.get('randomness') or {})
        if args.seed is not None:
            randomness['seed'] = args.seed
        if args.deterministic:
            randomness['deterministic'] = True
        cfg.randomness = randomness
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    apply_compile(cfg, args.compile)
    return cfg



class FinishedRunNotice(Hook):
    """Says so when ``--resume`` finds a run that has already finished (MMEngine
    would otherwise return at once without a word)."""

    priority = 'VERY_LOW'

    def before_train(self, runner):
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            done = runner.epoch >= runner.max_epochs
        else:
            done = runner.iter >= runner.max_iters
        if done:
            runner.logger.warning(
                f'the run in {runner.work_dir} is already finished (epoch {runner.epoch} of '
                f'{runner.max_epochs}, iteration {runner.iter}): nothing to train. To train '
                'longer, raise train_cfg.max_epochs with --cfg-options; for a new run, give '
                'another --work-dir.')


def build_runner(cfg, args):
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    elif args.verbose:
        runner = Runner.from_cfg(cfg)
    else:
        runner = QuietRunner.from_cfg(cfg)
    quiet_console(runner, args.verbose)
    if cfg.get('resume'):
        runner.register_hook(FinishedRunNotice())
        if cfg.get('load_from') is None and find_latest_checkpoint(cfg.work_dir) is None:
            runner.logger.warning(f'--resume: no checkpoint in {cfg.work_dir}; starting a '
                                  'new run')
    return runner


def tool_logger():
    """Messages before the runner's logger exists (lock, resume file), on stderr."""
    logger = logging.getLogger('etad_mmaction.train')
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter('train.py: %(levelname)s: %(message)s'))
        logger.addHandler(handler)
        logger.propagate = False
    return logger


def launch_rank() -> int:
    """This process's global rank before distributed setup: ``RANK`` (torchrun /
    pytorch launcher), else ``SLURM_PROCID`` (``--launcher slurm``), else 0."""
    for key in ('RANK', 'SLURM_PROCID'):
        if os.environ.get(key, '').strip():
            return int(os.environ[key])
    return 0


def work_dir_lock(cfg):
    """The work dir's lock (rank 0 of a multi-process run; other ranks: None)."""
    if launch_rank() != 0 or '://' in str(cfg.work_dir):
        return None
    return WorkDirLock(cfg.work_dir, logger=tool_logger())


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    check_train_cfg(cfg)
    check_schedule(cfg)
    threads = set_cpu_threads()
    lock = work_dir_lock(cfg)
    if lock is not None:
        lock.acquire()
    try:
        setup_cpu_distributed(cfg, args.launcher)
        if cfg.get('resume') and cfg.get('load_from') is None:
            # last_checkpoint's file, or the work dir's own one in a copied work dir
            cfg.load_from = find_resume_checkpoint(cfg.work_dir, tool_logger())
        runner = build_runner(cfg, args)
        if threads is not None:
            runner.logger.info(f'CPU training with {threads} torch threads (half the cores; '
                               'set OMP_NUM_THREADS to choose)')
        check_train_iterations(runner)
        runner.train()
        if cfg.get('test_dataloader') is not None and cfg.get('test_evaluator') is not None \
                and cfg.get('test_after_train', False):
            runner.test()
    finally:
        if lock is not None:
            lock.release()


if __name__ == '__main__':
    main()
