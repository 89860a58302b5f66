# Train an ETAD model with the stock MMEngine Runner (MMAction2-style tool).
import argparse
import os

import etad_mmaction  # noqa: F401  (compat layer + registries, before mmaction.models)
from etad_mmaction.engine import apply_amp, default_work_dir, setup_cpu_distributed
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

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


def merge_args(cfg, args):
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.launcher = args.launcher
    cfg.work_dir = default_work_dir(cfg, args.config, args.work_dir)
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
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    setup_cpu_distributed(cfg, args.launcher)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()
    if cfg.get('test_dataloader') is not None and cfg.get('test_evaluator') is not None \
            and cfg.get('test_after_train', False):
        runner.test()


if __name__ == '__main__':
    main()
