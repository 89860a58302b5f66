"""Parameters and CPU step time of the feature enhancement necks (Table 7, App. C.1).

One forward + backward of each neck on random ``[batch, in_channels, T]`` features
(a sum of the outputs as the loss), median of ``--repeats`` steps after one warm-up.
Prints JSON (``--out`` also writes it atomically):
``{neck: {"params", "median_ms", "min_ms"}, "settings": ...}``.

    OMP_NUM_THREADS=1 python tools/analysis/neck_cost.py [--in-channels 400] [--out F]

No timing asserts; on a shared machine the figures move between runs.
"""
import argparse
import json
import sys
import os
import os.path as osp
import statistics
import time

import torch

import etad_mmaction  # noqa: F401  (registers the necks)
from etad_mmaction.fileio import write_text
from mmaction.registry import MODELS

NECKS = {
    'lstm': dict(type='LSTMFeatureEnhancement'),
    'lstm-forward': dict(type='LSTMFeatureEnhancement', direction='forward'),
    'conv': dict(type='ConvFeatureEnhancement'),
    'transformer': dict(type='TransformerFeatureEnhancement'),
}


def measure(cfg: dict, feats: torch.Tensor, repeats: int) -> dict:
    torch.manual_seed(0)
    neck = MODELS.build(dict(cfg, in_channels=feats.shape[1])).train()
    times = []
    for rep in range(repeats + 1):
        neck.zero_grad(set_to_none=True)
        start = time.perf_counter()
        neck(feats).sum().backward()
        if rep:                                     # the first step warms up
            times.append((time.perf_counter() - start) * 1e3)
    return dict(params=sum(p.numel() for p in neck.parameters()),
                median_ms=round(statistics.median(times), 2), min_ms=round(min(times), 2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--num-snippets', type=int, default=128)
    parser.add_argument('--in-channels', type=int, default=400, help='400: TSN (Table 7)')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--necks', nargs='*', default=list(NECKS), choices=list(NECKS))
    parser.add_argument('--out', help='also write the JSON here')
    args = parser.parse_args()
    feats = torch.randn(args.batch, args.in_channels, args.num_snippets,
                        generator=torch.Generator().manual_seed(0))
    result = dict(settings=dict(vars(args), torch_threads=torch.get_num_threads(),
                                omp_num_threads=os.environ.get('OMP_NUM_THREADS')))
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark import environment
    result.update(env=environment('cpu'), command='python ' + ' '.join(sys.argv))
    for name in args.necks:
        result[name] = measure(NECKS[name], feats, args.repeats)
    text = json.dumps(result, indent=2)
    if args.out:
        write_text(text + "\n", args.out)
    print(text)


def render(d: dict) -> str:
    """The benchmarks-page section of ``neck_cost_cpu.json`` (Table 7's modules)."""
    import benchmark as B
    st = d['settings']
    lines = B.head('Feature enhancement modules (Table 7): parameters and CPU step', d) + [
        f"Forward + backward of the neck alone, batch {st['batch']}, T = "
        f"{st['num_snippets']}, {st['in_channels']}-d input, {st['torch_threads']} thread; "
        f"median (min) of {st['repeats']} steps after one warm-up.", '',
        '| neck | parameters | step (ms) |', '|---|---|---|']
    for name in st['necks']:
        r = d[name]
        lines.append(f"| {name} | {r['params']:,} | {r['median_ms']:.0f} ({r['min_ms']:.0f}) |")
    return '\n'.join(lines + [''])


if __name__ == '__main__':
    main()
