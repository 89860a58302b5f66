"""Training-step time and peak memory of a detector config, eager against
compiled, with MMAction2's stock BMN measured in the same run.

    python tools/analysis/train_step_benchmark.py configs/etad/etad_1xb16-6e_anet-tsp-feature.py \
        --device cuda --batch 16 --modes eager default max-autotune-no-cudagraphs \
        reduce-overhead --bmn --out docs/benchmarks/train_step_cuda.json

Random features at the config's ``num_snippets`` and ``neck.in_channels``; AdamW
steps; the median of ``--steps`` steps after ``--warmup`` (compiling) ones.
``eager`` is the plain model; every other mode compiles ``ETAD.loss_tensors``
(``ETAD.compile_loss(mode=...)``, as ``tools/train.py --compile MODE``). Peak
memory is ``torch.cuda.max_memory_allocated`` over the steps on CUDA; on the CPU
each model runs in a fresh process and its peak is the rise of peak RSS over the
RSS just before the first step. With ``--inference-batch`` the per-video time of
batched inference (``predict`` with post-processing) of the eager model is added.

The CPU comparison with stock BMN of issue 25 (one thread for both models, stated
in ``env.threads``; BMN's steps are ~10x longer, hence fewer of them):

    python tools/analysis/train_step_benchmark.py configs/etad/etad_1xb16-6e_anet-tsp-feature.py \
        --device cpu --threads 1 --batch 16 --steps 5 --warmup 1 --modes eager --bmn \
        --bmn-steps 2 --out docs/benchmarks/train_step_vs_bmn_cpu.json
"""
import argparse
import json
import multiprocessing
import os
import os.path as osp
import resource
import statistics
import sys
import time

import torch
from mmengine.config import Config, DictAction

import etad_mmaction  # noqa: F401
from etad_mmaction.testing import random_feature_batch
from mmaction.registry import MODELS

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark import environment  # noqa: E402 (sibling script)
from bmn_baseline import stock_bmn_config  # noqa: E402 (sibling script)


def _rss_mb() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def time_steps(step, steps, warmup, device):
    """Median seconds of ``step()`` after ``warmup`` calls, and peak memory (MB):
    CUDA allocated, or on the CPU the rise of this process's peak RSS."""
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        rss0 = _rss_mb()
    times, cpu = [], []
    for i in range(warmup + steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        if device == 'cuda':
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    # cpu_step_ms: the process's CPU time (all its threads); with one thread on a
    # shared machine, the step's time on a core of its own
    res = dict(step_ms=1e3 * statistics.median(times), steps_ms=[1e3 * t for t in times],
               cpu_step_ms=1e3 * statistics.median(cpu))
    if device == 'cuda':
        res['peak_mb'] = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        res['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss0
    return res


def training_step(model, feats, samples, autocast=None):
    """One AdamW step; ``autocast``: a dtype name for the forward pass (as ``--amp``:
    ``CPUBf16OptimWrapper`` on the CPU, ``AmpOptimWrapper`` on CUDA; no loss scaling
    is needed for bfloat16)."""
    optim = torch.optim.AdamW(model.parameters(), lr=1e-4)
    device = next(model.parameters()).device.type

    def step():
        with torch.autocast(device, dtype=getattr(torch, autocast or 'bfloat16'),
                            enabled=bool(autocast)):
            losses = model(list(feats), samples, mode='loss')
        optim.zero_grad(set_to_none=True)
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optim.step()
    return step


def _literal(value: str):
    """A ``--variant`` value as Python reads it (numbers, None, tuples), else the string."""
    import ast
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def measure(model_cfg, args, mode='eager', bmn=False, autocast=None):
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).to(args.device)
    t = model_cfg['temporal_dim'] if bmn else model_cfg['num_snippets']
    dim = model_cfg['feat_dim'] if bmn else model_cfg['neck']['in_channels']
    feats, samples = random_feature_batch(args.batch, t, dim, args.device, bmn=bmn)
    if mode != 'eager':
        model.compile_loss(mode=mode)
    steps = args.bmn_steps if bmn and args.bmn_steps else args.steps
    try:
        res = time_steps(training_step(model, feats, samples, autocast), steps,
                         args.warmup, args.device)
    except torch.cuda.OutOfMemoryError as err:      # a measured outcome, not a crash
        res = dict(error=f'CUDA out of memory: {str(err)[:200]}')
    if args.inference_batch and mode == 'eager' and not bmn and not autocast:
        model.eval()
        feats, samples = random_feature_batch(args.inference_batch, t, dim, args.device)
        with torch.no_grad():
            inf = time_steps(lambda: model(list(feats), samples, mode='predict'),
                             max(3, args.steps // 2), 1, args.device)
        res['inference_ms_per_video'] = inf['step_ms'] / args.inference_batch
    return res


def measure_isolated(model_cfg, args, mode='eager', bmn=False, autocast=None):
    """:func:`measure` in a fresh process on the CPU (peak RSS is per process)."""
    if args.device == 'cuda':
        return measure(model_cfg, args, mode, bmn, autocast)
    with multiprocessing.get_context('spawn').Pool(1) as pool:
        return pool.apply(measure, (model_cfg, args, mode, bmn, autocast))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--modes', nargs='+', default=['eager', 'default'])
    parser.add_argument('--bmn', action='store_true', help='stock MMAction2 BMN as baseline')
    parser.add_argument('--bmn-steps', type=int, default=0,
                        help="BMN's measured steps (default --steps)")
    parser.add_argument('--threads', type=int, default=0,
                        help='torch threads of every measured process (default: torch\'s)')
    parser.add_argument('--inference-batch', type=int, default=0)
    parser.add_argument('--variant', nargs='+', action='append', default=[],
                        metavar=('NAME', 'KEY=VALUE'),
                        help='also measure the eager step with these config options '
                             '(e.g. --variant bf16-roi '
                             'model.roi_head.stage_head.roi_matmul_dtype=bfloat16); '
                             'autocast=bfloat16 runs the forward pass under bf16 autocast '
                             '(what --amp does on the CPU; on CUDA --amp is float16)')
    parser.add_argument('--bmn-autocast', default=None,
                        help='also measure BMN with its forward pass under this autocast '
                             'dtype (the like-for-like baseline of an autocast variant)')
    parser.add_argument('--out', default=None)
    args = parser.parse_args()
    variants = _parse_variants(args.variant, parser)     # bad variants fail before any run
    if args.threads:
        torch.set_num_threads(args.threads)
    else:
        from etad_mmaction.engine.launcher import set_cpu_threads
        set_cpu_threads()  # the one thread policy (tools/train.py's)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    res = dict(env=environment(args.device), command=' '.join(['python'] + sys.argv),
               config=args.config, cfg_options=args.cfg_options, batch=args.batch,
               num_snippets=cfg.model.num_snippets, steps=args.steps, warmup=args.warmup,
               bmn_steps=args.bmn_steps or args.steps, modes={})
    for mode in args.modes:
        res['modes'][mode] = measure_isolated(cfg.model.to_dict(), args, mode)
        torch._dynamo.reset()
        if args.device == 'cuda':
            torch.cuda.empty_cache()
        print(f'{mode}: {json.dumps(res["modes"][mode])[:300]}', flush=True)
        _ratios_and_dump(res, args.out)
    if variants:
        res['variants'] = {}
    for name, opts in variants.items():
        vcfg = Config.fromfile(args.config)
        vcfg.merge_from_dict(args.cfg_options)
        vcfg.merge_from_dict({k: _literal(v) for k, v in opts.items() if k != 'autocast'})
        res['variants'][name] = dict(measure_isolated(vcfg.model.to_dict(), args,
                                                      autocast=opts.get('autocast')),
                                     cfg_options=opts)
        print(f'{name}: {json.dumps(res["variants"][name])[:300]}', flush=True)
        _ratios_and_dump(res, args.out)
    if args.bmn:
        res['bmn'] = measure_isolated(
            Config.fromfile(stock_bmn_config()).model.to_dict(), args, bmn=True)
        print(f'bmn: {json.dumps(res["bmn"])[:300]}', flush=True)
        _ratios_and_dump(res, args.out)
        if args.bmn_autocast:
            res['bmn_autocast'] = dict(measure_isolated(
                Config.fromfile(stock_bmn_config()).model.to_dict(), args, bmn=True,
                autocast=args.bmn_autocast), autocast=args.bmn_autocast)
            print(f'bmn autocast: {json.dumps(res["bmn_autocast"])[:300]}', flush=True)
    _ratios_and_dump(res, args.out)


def _parse_variants(raw, parser) -> dict:
    """``--variant NAME KEY=VALUE ...`` -> ``{name: {key: value}}``; model keys and
    ``autocast`` only (the step is built from ``model`` alone)."""
    variants = {}
    for name, *options in raw:
        if name in variants:
            parser.error(f'--variant {name} given twice')
        bad = [o for o in options if '=' not in o]
        if bad or not options:
            parser.error(f'--variant {name}: options must be KEY=VALUE, got {bad or "none"}')
        opts = dict(o.split('=', 1) for o in options)
        other = [k for k in opts if k != 'autocast' and not k.startswith('model.')]
        if other:
            parser.error(f'--variant {name}: only model.* keys and autocast are measured '
                         f'(the step is built from the model config), got {other}')
        if opts.get('autocast') not in (None, 'bfloat16', 'float16'):
            parser.error(f"--variant {name}: autocast must be bfloat16 or float16, "
                         f"got {opts['autocast']!r}")
        variants[name] = opts
    return variants


def _ratios_and_dump(res: dict, out) -> None:
    """Ratios of what is measured so far, written to ``out`` after each model (a run
    cut by a time limit keeps what it measured)."""
    eager = res['modes'].get('eager', {}).get('step_ms')
    for name, r in [*res['modes'].items(), ('bmn', res.get('bmn', {})),
                    ('bmn_autocast', res.get('bmn_autocast', {}))]:
        if eager and r.get('step_ms'):
            r['vs_eager'] = r['step_ms'] / eager
    bmn = res.get('bmn', {})
    if eager and bmn.get('step_ms'):
        res['etad_over_bmn_step'] = eager / bmn['step_ms']
        res['etad_over_bmn_cpu_step'] = (res['modes']['eager']['cpu_step_ms']
                                         / bmn['cpu_step_ms'])
        if bmn.get('peak_mb') and res['modes']['eager'].get('peak_mb'):
            res['etad_over_bmn_peak'] = res['modes']['eager']['peak_mb'] / bmn['peak_mb']
    same = res.get('bmn_autocast', {})
    for r in res.get('variants', {}).values():
        if eager and r.get('step_ms'):
            r['vs_eager'] = r['step_ms'] / eager
        if bmn.get('step_ms') and r.get('step_ms'):
            r['over_bmn_step'] = r['step_ms'] / bmn['step_ms']
            r['over_bmn_cpu_step'] = r['cpu_step_ms'] / bmn['cpu_step_ms']
            if bmn.get('peak_mb') and r.get('peak_mb'):
                r['over_bmn_peak'] = r['peak_mb'] / bmn['peak_mb']
        if r['cfg_options'].get('autocast') and same.get('step_ms') and r.get('step_ms') \
                and same['autocast'] == r['cfg_options']['autocast']:
            r['over_bmn_autocast_step'] = r['step_ms'] / same['step_ms']
            r['over_bmn_autocast_cpu_step'] = r['cpu_step_ms'] / same['cpu_step_ms']
            if same.get('peak_mb') and r.get('peak_mb'):
                r['over_bmn_autocast_peak'] = r['peak_mb'] / same['peak_mb']
    if out:
        from etad_mmaction.fileio import dump_json
        dump_json(res, out, indent=2)


if __name__ == '__main__':
    main()
