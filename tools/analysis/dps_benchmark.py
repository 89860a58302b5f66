"""Training cost of the DPS ratio (the paper's Fig. 4b, cost side) and inference time with
grid DPS at test (App. C.3, Table 9) of a config (docs/benchmarks.md).

    python tools/analysis/dps_benchmark.py \
        configs/etad/etad_1xb16-6e_synthetic-anet-full-feature.py [--device cpu] \
        [--batch 4] [--ratios 1.0 0.5 ...] [--infer-ratios 1.0 0.2 ...] [--cfg-options ...]

Training: the config's model with ``RandomProposalSampler`` at each ratio (1.0: all
proposals). Inference: batch 1 with ``test_proposal_sampler`` ``GridProposalSampler``.
Workers are those of ``detector_benchmark.py``.
"""
import argparse
import copy
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark as B  # noqa: E402 (sibling module)
import detector_benchmark  # noqa: E402 (sibling script: its workers)


def main(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--batch', type=int, default=4)
    p.add_argument('--ratios', type=float, nargs='+', default=[1.0, 0.5, 0.2, 0.1, 0.06, 0.03])
    p.add_argument('--infer-ratios', type=float, nargs='+', default=[1.0, 0.2, 0.15, 0.1, 0.06])
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    p.add_argument('--out', default=None, help='default docs/benchmarks/dps_<device>.json')
    args = p.parse_args(argv)
    B.thread_policy()
    base = B.model_config(args.config, args.cfg_options)
    t, dim = base['num_snippets'], base['neck']['in_channels']
    spec = dict(device=args.device, feat_dim=dim, warmup=1, steps=args.steps, t=t)
    specs = []
    for r in args.ratios:
        model = copy.deepcopy(base)
        model['roi_head']['proposal_sampler'] = (
            None if r >= 1 else dict(type='RandomProposalSampler', ratio=r))
        specs.append(dict(spec, model=model, batch=args.batch))
    for r in args.infer_ratios:
        model = copy.deepcopy(base)
        model['roi_head']['test_proposal_sampler'] = (
            None if r >= 1 else dict(type='GridProposalSampler', ratio=r))
        specs.append(dict(spec, model=model, batch=1, inference=True, steps=max(5, args.steps)))
    got = B.measure_many(detector_benchmark.__file__, specs)
    train, infer = got[:len(args.ratios)], got[len(args.ratios):]
    full = dict(zip(args.ratios, train)).get(1.0)
    res = dict(env=B.environment(args.device), command=' '.join(['python'] + sys.argv),
               config=args.config, batch=args.batch, t=t, feat_dim=dim)
    res['train'] = [dict(ratio=r, step_s=g['step_s'], peak_mb=g['peak_mb'],
                         step_vs_100=(g['step_s'] / full['step_s']) if full else None,
                         peak_vs_100=(g['peak_mb'] / full['peak_mb']) if full else None)
                    for r, g in zip(args.ratios, train)]
    res['inference'] = [dict(ratio=r, s_per_video=g['step_s'])
                        for r, g in zip(args.infer_ratios, infer)]
    B.write_result(res, args.out or osp.join(B.OUT_DIR, f'dps_{args.device}.json'))


def render(d: dict) -> str:
    dev = d['env']['device'].upper()
    lines = B.head(f'DPS ratio sweep and DPS at inference ({dev})', d) + [
        f"Training step of ETAD (T = {d['t']}, {d['feat_dim']}-d random features, batch "
        f"{d['batch']}) with random DPS at each ratio (Fig. 4b's cost side); median of the "
        "measured steps after one warm-up.", '',
        '| DPS ratio | step (s) | peak memory (MB) | step / 100% | memory / 100% |',
        '|---|---|---|---|---|']
    for r in d['train']:
        lines.append(f"| {r['ratio']:.0%} | {r['step_s']:.3f} | {r['peak_mb']:.0f} | "
                     f"{r['step_vs_100'] or 0:.3f} | {r['peak_vs_100'] or 0:.3f} |")
    lines += ['', 'Inference per video (batch 1, post-processing included) with grid DPS '
              'at inference (App. C.3, Table 9 shape), randomly initialised model:', '',
              '| DPS ratio at inference | '
              + ' | '.join(f"{r['ratio']:.0%}" for r in d['inference'])
              + ' |', '|---|' + '---|' * len(d['inference']),
              '| time per video (ms) | ' + ' | '.join(f"{1000 * r['s_per_video']:.1f}"
                                                     for r in d['inference']) + ' |', '']
    return '\n'.join(lines)


def figure(d: dict, dev: str, path: str) -> None:
    """Step time and peak memory relative to 100% against the ratio (a PNG)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = sorted(d['train'], key=lambda r: r['ratio'])
    fig, ax = plt.subplots(figsize=(5, 3.4))
    xs = [100 * r['ratio'] for r in rows]
    ax.plot(xs, [r['step_vs_100'] for r in rows], marker='o', label='step time / 100%')
    ax.plot(xs, [r['peak_vs_100'] for r in rows], marker='s', label='peak memory / 100%')
    ax.set(xscale='log', xlabel='DPS ratio (%)', ylabel='relative to 100%',
           title=f"DPS cost, batch {d['batch']}, T = {d['t']} ({dev.upper()})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == '__main__':
    main()
