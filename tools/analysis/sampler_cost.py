"""Median cost per video of each ETAD sampler (Sec. 3.3) at the default settings.

Proposal level (DPS): the valid proposals of a T = D = 128 map (n = 8,256) at
ratio 0.06 (k = 495); snippet level (EGS): M = 128 snippets at ratio 0.3 (k = 38).
Inputs are synthetic (random kernel features, IoUs; real relative lengths).
Prints JSON: ``{level: {sampler: {"median_ms", "min_ms", "n", "k"}}}``; the level
``proposals_batch`` times ``sample_batch`` on ``--batch`` videos (per video).
FPS on the CPU loops over the videos (``cpu_per_video``, the default; with
``--fps-batched-loop`` the entry ``FPSSampler_batched_loop`` times the one k-step
loop over the batch that runs on accelerators, minutes on one CPU thread), and
with torch_cluster installed (``backend='auto'``) every video is a
``torch_cluster.fps`` call (``settings.torch_cluster``); the other host
strategies loop over the videos.
``--out`` also writes the JSON (atomically).

    python tools/analysis/sampler_cost.py [--repeats 5] [--proposal-channels 259]
        [--batch 16] [--batch-samplers FPSSampler DPPSampler] [--fps-batched-loop]
        [--out F]

Prefix ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1`` for the single-thread cost
(BLAS threading is erratic on an oversubscribed machine). No timing asserts.
"""
import argparse
import json
import sys
import os
import os.path as osp
import statistics
import time

import torch

import etad_mmaction  # noqa: F401  (registers the samplers)
from etad_mmaction.fileio import write_text
from etad_mmaction.models.samplers import SAMPLER_STRATEGIES
from etad_mmaction.models.samplers import fps_sampler as fps_module
from etad_mmaction.models.utils.proposal_map import valid_proposals
from mmaction.registry import TASK_UTILS

THREAD_ENV = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS')


def level_inputs(level: str, args) -> dict:
    g = torch.Generator().manual_seed(0)
    if level == 'proposals':
        t = d = args.num_snippets
        coords = valid_proposals(t, d)
        channels = args.proposal_channels
        scales = (coords[:, 1] - coords[:, 0]).float() / t
    else:
        coords = torch.arange(args.num_snippets).view(-1, 1)
        channels = args.snippet_channels
        scales = torch.rand(coords.shape[0], generator=g)
    n = coords.shape[0]
    return dict(coords=coords, features=torch.randn(n, channels, generator=g),
                ious=torch.rand(n, generator=g), scales=scales)


def measure(sampler, inputs: dict, repeats: int) -> dict:
    n = inputs['coords'].shape[0]
    sampler(n, generator=torch.Generator().manual_seed(12345), **inputs)  # warm-up
    times = []
    for rep in range(repeats):
        gen = torch.Generator().manual_seed(rep)
        start = time.perf_counter()
        sampler(n, generator=gen, **inputs)
        times.append((time.perf_counter() - start) * 1e3)
    return dict(median_ms=round(statistics.median(times), 3), min_ms=round(min(times), 3),
                n=n, k=sampler.num_samples(n))


def measure_batch(sampler, inputs: dict, batch: int, repeats: int) -> dict:
    """Per-video cost of ``sample_batch`` over ``batch`` videos (features of
    video ``b``: the level's features rolled by ``b`` rows)."""
    n = inputs['coords'].shape[0]
    feats = torch.stack([inputs['features'].roll(b, dims=0) for b in range(batch)])
    keys = torch.arange(batch) + 1
    kw = dict(coords=inputs['coords'], features=feats,
              ious=inputs['ious'].expand(batch, -1), scales=inputs['scales'].expand(batch, -1))
    sampler.sample_batch(keys, n, **kw)  # warm-up
    times = []
    for rep in range(repeats):
        start = time.perf_counter()
        sampler.sample_batch(keys + rep * batch, n, **kw)
        times.append((time.perf_counter() - start) * 1e3 / batch)
    return dict(median_ms=round(statistics.median(times), 3), min_ms=round(min(times), 3),
                n=n, k=sampler.num_samples(n), batch=batch)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--num-snippets', type=int, default=128)
    parser.add_argument('--proposal-ratio', type=float, default=0.06)
    parser.add_argument('--snippet-ratio', type=float, default=0.3)
    parser.add_argument('--proposal-channels', type=int, default=259,
                        help='DPS kernel features: 256 pooled + start/end/length')
    parser.add_argument('--snippet-channels', type=int, default=256)
    parser.add_argument('--samplers', nargs='*', default=list(SAMPLER_STRATEGIES.values()))
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--batch-samplers', nargs='*', default=['FPSSampler', 'DPPSampler'])
    parser.add_argument('--fps-batched-loop', action='store_true',
                        help='also time FPS\'s batched loop on the CPU (slow there)')
    parser.add_argument('--out', help='also write the JSON here')
    args = parser.parse_args()
    from etad_mmaction.engine.launcher import set_cpu_threads
    set_cpu_threads()  # the one thread policy (tools/train.py's)
    env = {key: os.environ.get(key) for key in THREAD_ENV}
    result = dict(settings=dict(vars(args), torch_threads=torch.get_num_threads(), env=env,
                                torch_cluster=fps_module.torch_cluster is not None))
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark import environment
    result.update(env=environment('cpu'), command='python ' + ' '.join(sys.argv))
    for level, ratio in (('proposals', args.proposal_ratio), ('snippets', args.snippet_ratio)):
        inputs = level_inputs(level, args)
        result[level] = {name: measure(TASK_UTILS.build(dict(type=name, ratio=ratio)),
                                       inputs, args.repeats)
                         for name in args.samplers}
    inputs = level_inputs('proposals', args)
    result['proposals_batch'] = {
        name: measure_batch(TASK_UTILS.build(dict(type=name, ratio=args.proposal_ratio)),
                            inputs, args.batch, args.repeats)
        for name in args.batch_samplers}
    if args.fps_batched_loop:
        result['proposals_batch']['FPSSampler_batched_loop'] = measure_batch(
            TASK_UTILS.build(dict(type='FPSSampler', ratio=args.proposal_ratio,
                                  backend='torch', cpu_per_video=False)),
            inputs, args.batch, args.repeats)
    text = json.dumps(result, indent=2)
    if args.out:
        write_text(text + '\n', args.out)
    print(text)


def render(d: dict) -> str:
    """The benchmarks-page section of ``sampler_cost_cpu.json``."""
    import benchmark as B
    st = d['settings']
    lines = B.head('Sampler cost per video (CPU)', d) + [
        f"One call per video, {st['torch_threads']} thread, median (min) of {st['repeats']} "
        f"calls; proposals: DPS {st['proposal_ratio']:g} of the T = {st['num_snippets']} map "
        f"({st['proposal_channels']}-d features), snippets: EGS {st['snippet_ratio']:g}; "
        f"torch_cluster installed: {st.get('torch_cluster')}. The batch rows give the cost "
        f"per video of one call on a batch of {st['batch']}.", '',
        '| level | sampler | n | k | ms per video |', '|---|---|---|---|---|']
    for level in ('proposals', 'snippets', 'proposals_batch'):
        for name, r in d.get(level, {}).items():
            lines.append(f"| {level.replace('_', ', ')} | {name} | {r.get('n', '')} | "
                         f"{r.get('k', '')} | {r['median_ms']:.1f} ({r['min_ms']:.1f}) |")
    return '\n'.join(lines + [''])


if __name__ == '__main__':
    main()
