"""Batched inference time per video of a trained detector, post-processing included.

    python tools/analysis/inference_benchmark.py CONFIG CHECKPOINT --device cpu \\
        --threads 1 --batch 16 --videos 64 --out docs/benchmarks/inference_cpu.json

The first ``--videos`` videos of the config's test set run through
``model.test_step`` (data preprocessor, forward over the proposal map, boundary
selection, the cascade on the selected proposals, Soft-NMS) in batches of
``--batch``; the data is loaded before timing. Per video: the median over
``--repeats`` passes of the pass time divided by the number of videos, with the
share of post-processing (``select_and_suppress``: candidate selection and NMS)
beside it and the number of candidates NMS got per video (a trained model keeps
few proposals; an untrained one nearly all, which is why its time says little).
``cpu_*`` are the process's CPU time (all threads): with one thread on a shared
machine, the time on a core of its own.
"""
import argparse
import os.path as osp
import statistics
import sys
import time

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark import environment  # noqa: E402 (sibling script)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=0,
                        help="torch threads (default: torch's); recorded in env.threads")
    parser.add_argument('--batch', type=int, nargs='+', default=[16])
    parser.add_argument('--videos', type=int, default=64)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--out', default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import etad_mmaction  # noqa: F401
    from etad_mmaction.apis import init_detector
    from etad_mmaction.models.localizers import etad as etad_module
    from mmaction.registry import DATASETS
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    model = init_detector(cfg, args.checkpoint, device=args.device)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    if len(dataset) < args.videos:
        raise ValueError(f'{args.config}: the test set has {len(dataset)} videos, '
                         f'fewer than --videos {args.videos}')
    items = [dataset[i] for i in range(args.videos)]

    # time the post-processing inside predict
    post = dict(seconds=0.0, cpu_seconds=0.0, candidates=0)
    select = etad_module.select_and_suppress

    def timed_select(segments, scores, valid, *a, **kw):
        if args.device == 'cuda':
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        out = select(segments, scores, valid, *a, **kw)
        if args.device == 'cuda':
            torch.cuda.synchronize()
        post['seconds'] += time.perf_counter() - t0
        post['cpu_seconds'] += time.process_time() - c0
        post['candidates'] += int(valid.sum())
        return out

    etad_module.select_and_suppress = timed_select
    res = dict(env=environment(args.device), command=' '.join(['python'] + sys.argv),
               config=args.config, checkpoint=osp.basename(args.checkpoint),
               videos=args.videos, num_snippets=cfg.model.num_snippets, batches={})
    try:
        for batch in args.batch:
            passes = []
            for r in range(args.warmup + args.repeats):
                post.update(seconds=0.0, cpu_seconds=0.0, candidates=0)
                if args.device == 'cuda':
                    torch.cuda.synchronize()
                t0, c0 = time.perf_counter(), time.process_time()
                with torch.no_grad():
                    for lo in range(0, args.videos, batch):
                        model.test_step(pseudo_collate(items[lo:lo + batch]))
                if args.device == 'cuda':
                    torch.cuda.synchronize()
                if r >= args.warmup:
                    passes.append((time.perf_counter() - t0, post['seconds'],
                                   time.process_time() - c0, post['cpu_seconds']))
            med = [statistics.median(p[i] for p in passes) for i in range(4)]
            res['batches'][str(batch)] = dict(
                ms_per_video=1e3 * med[0] / args.videos,
                postprocess_ms_per_video=1e3 * med[1] / args.videos,
                cpu_ms_per_video=1e3 * med[2] / args.videos,
                postprocess_cpu_ms_per_video=1e3 * med[3] / args.videos,
                passes_s=[p[0] for p in passes],
                candidates_per_video=post['candidates'] / args.videos)
            print(f'batch {batch}: {res["batches"][str(batch)]}', flush=True)
    finally:
        etad_module.select_and_suppress = select
    if args.out:
        from etad_mmaction.fileio import dump_json
        dump_json(res, args.out, indent=2)


def render(d: dict) -> str:
    """The benchmarks-page section of ``inference_<device>.json``."""
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    import benchmark as B
    lines = B.head(f"Batched inference per video of a trained checkpoint "
                   f"({d['env']['device'].upper()})", d) + [
        f"`{d['config']}`, checkpoint `{d['checkpoint']}`, {d['videos']} validation videos, "
        f"T = {d['num_snippets']}; `model.test_step` (forward, boundary selection, scoring, "
        "Soft-NMS); wall time and, on the CPU, process CPU time (the wall time of a busy "
        "shared machine includes waiting for a core).", '',
        '| batch | wall ms / video | CPU ms / video | post-processing CPU ms / video | '
        'candidates / video |', '|---|---|---|---|---|']
    for batch, r in d['batches'].items():
        cpu = r.get('cpu_ms_per_video')
        post = r.get('postprocess_cpu_ms_per_video')
        lines.append(f"| {batch} | {r['ms_per_video']:.1f} | "
                     f"{'' if cpu is None else f'{cpu:.1f}'} | "
                     f"{'' if post is None else f'{post:.1f}'} | "
                     f"{r['candidates_per_video']:.0f} |")
    return '\n'.join(lines + [''])


if __name__ == '__main__':
    main()
