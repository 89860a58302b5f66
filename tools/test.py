# Evaluate an ETAD checkpoint with the stock MMEngine Runner (MMAction2-style tool).
import argparse
import os

import etad_mmaction  # noqa: F401  (compat layer + registries, before mmaction.models)
from etad_mmaction.engine import default_work_dir, setup_cpu_distributed
from etad_mmaction.engine.launcher import QuietRunner, quiet_console, set_cpu_threads
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmaction.registry import RUNNERS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test an ETAD temporal action detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and results')
    parser.add_argument('--dump', type=str,
                        help='write the raw predictions (a pickle of data samples, '
                        'MMEngine DumpResults) to this file')
    parser.add_argument('--dump-raw', metavar='DIR',
                        help='also write each sample\'s scored proposals before NMS to DIR '
                        '(tools/analysis/post_process.py re-runs NMS and evaluation from them)')
    parser.add_argument('--out', type=str,
                        help='write the detections in the ActivityNet submission format (json)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='job launcher')
    parser.add_argument('--verbose', action='store_true',
                        help='also print the environment and the full config on the console '
                        '(they are always written to the log file)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def check_output_paths(args) -> None:
    """Fail before the test loop when ``--out`` / ``--dump`` cannot be written."""
    for flag, path in (('--out', args.out), ('--dump', args.dump)):
        if not path:
            continue
        if os.path.isdir(path):
            raise SystemExit(f'test.py: error: {flag} {path} is a folder; give a file name')
        folder = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as err:  # a component is a file, permission denied ...
            raise SystemExit(f'test.py: error: {flag} {path}: cannot create the folder '
                             f'{folder} ({err.strerror or err})')
        if not os.access(folder, os.W_OK | os.X_OK):
            raise SystemExit(f'test.py: error: {flag} {path}: the folder {folder} is not '
                             'writable')


def build_cfg(args) -> Config:
    """The test config: ``--cfg-options``, checkpoint, output files, and strict
    loading (``ETADCheckpointHook``; a checkpoint of another model is an error)."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = default_work_dir(cfg, args.config, args.work_dir)
    cfg.load_from = args.checkpoint
    hooks = cfg.setdefault('default_hooks', {})
    ckpt_hook = hooks.get('checkpoint') or dict(type='ETADCheckpointHook')
    if ckpt_hook.get('type') in ('CheckpointHook', 'mmengine.CheckpointHook'):
        ckpt_hook = dict(ckpt_hook, type='ETADCheckpointHook')
    hooks['checkpoint'] = ckpt_hook
    if args.out:
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) \
            else [cfg.test_evaluator]
        for ev in evaluators:
            if ev.get('type') == 'TADMetric':
                ev['dump_file'] = args.out
    if args.dump:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--dump must name a .pkl file, got {args.dump}')
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) \
            else [cfg.test_evaluator]
        cfg.test_evaluator = list(evaluators) + [dict(type='DumpResults', out_file_path=args.dump)]
    if args.dump_raw:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            dict(type='ETADRawDumpHook', out_dir=args.dump_raw)]
    return cfg


def main():
    args = parse_args()
    check_output_paths(args)
    cfg = build_cfg(args)
    setup_cpu_distributed(cfg, args.launcher)
    threads = set_cpu_threads()     # train.py's thread policy
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = (Runner if args.verbose else QuietRunner).from_cfg(cfg)
    quiet_console(runner, args.verbose)
    if threads is not None:
        runner.logger.info(f'CPU test with {threads} torch threads (half the cores; set '
                           'OMP_NUM_THREADS to choose)')
    runner.test()
    for what, path in (('submission', args.out), ('raw predictions', args.dump)):
        if path and os.path.isfile(path):
            runner.logger.info(f'wrote the {what} to {os.path.abspath(path)}')


if __name__ == '__main__':
    main()
