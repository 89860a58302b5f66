"""Encoder Gradient Sampling: peak memory and time of one end-to-end training step
against the EGS ratio, mode and chunk size (Sec. 3.2, App. G; docs/benchmarks.md).

    python tools/analysis/egs_benchmark.py configs/etad_e2e/etad-e2e_tsm-r50-224-8f_anet.py \
        [--device cpu] [--snippets 32] [--frames 4] [--resolution 64] \
        [--ratios 0.1 0.3 1.0] [--chunk 4] [--chunks 1 16] [--cfg-options ...]

The config's ``ETADEndToEnd`` (encoder, detector with its DPS, preprocessor) without its
pretrained weights, on one random uint8 video of ``--snippets`` snippets of ``--frames``
frames at ``--resolution`` pixels (``num_snippets`` and TSM's ``num_segments`` follow).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark as B  # noqa: E402 (sibling module)


def e2e_model(config: str, cfg_options, snippets: int, frames: int) -> dict:
    model = B.model_config(config, cfg_options)
    model['encoder'].pop('init_cfg', None)
    model['encoder'].pop('pretrained', None)
    backbone = model['encoder']['backbone']
    if 'num_segments' in backbone:
        backbone['num_segments'] = frames
    model['detector'].update(num_snippets=snippets, max_duration=snippets)
    return model


def backbone_name(model: dict) -> str:
    bb = model['encoder']['backbone']
    return {'ResNetTSM': f"ResNetTSM-{bb.get('depth')}",
            'ResNet2Plus1dTV': f"R(2+1)D-{bb.get('depth')} (TSP layout)"}.get(bb['type'],
                                                                             bb['type'])


def run_worker(spec: dict) -> dict:
    """One ``ETADEndToEnd.train_step`` (AdamW) per measured step."""
    import torch
    from mmengine.optim import OptimWrapper

    import etad_mmaction  # noqa: F401
    from etad_mmaction.testing import random_feature_batch
    from mmaction.registry import MODELS
    device, m, res = spec['device'], spec['snippets'], spec['resolution']
    cfg = dict(spec['model'], egs=dict(ratio=spec['ratio'], mode=spec['mode'],
                                       chunk_size=spec['chunk'],
                                       sampler=dict(type='RandomSampler')))
    torch.manual_seed(0)
    model = MODELS.build(cfg).to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    wrapper = OptimWrapper(torch.optim.AdamW(params, lr=1e-4, weight_decay=1e-4))
    g = torch.Generator().manual_seed(0)
    video = torch.randint(0, 256, (m, 3, spec['frames'], res, res), generator=g,
                          dtype=torch.uint8)
    _, samples = random_feature_batch(1, m, 8, 'cpu')
    data = dict(inputs=[video], data_samples=samples)
    out = B.timed_steps(lambda: model.train_step(data, wrapper), spec['warmup'],
                        spec['steps'], device)
    out['encoder_trainable_params'] = sum(p.numel() for p in model.encoder.parameters()
                                          if p.requires_grad)
    return out


def main(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--steps', type=int, default=2)
    p.add_argument('--snippets', type=int, default=32)
    p.add_argument('--frames', type=int, default=4)
    p.add_argument('--resolution', type=int, default=64)
    p.add_argument('--ratios', type=float, nargs='+', default=[0.1, 0.3, 1.0])
    p.add_argument('--chunk', type=int, default=4)
    p.add_argument('--chunks', type=int, nargs='+', default=[1, 16])
    p.add_argument('--budget-mb', type=float, default=2560.0,
                   help='memory budget for choosing the injection chunk size')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    p.add_argument('--out', default=None, help='default docs/benchmarks/egs_<device>.json')
    args = p.parse_args(argv)
    B.thread_policy()
    model = e2e_model(args.config, args.cfg_options, args.snippets, args.frames)
    sampler = model['detector']['roi_head'].get('proposal_sampler') or {}
    res = dict(env=B.environment(args.device), command=' '.join(['python'] + sys.argv),
               config=args.config, snippets=args.snippets, frames=args.frames,
               resolution=args.resolution, backbone=backbone_name(model),
               frozen_stages=model['encoder'].get('frozen_stages'),
               detector_dps=sampler.get('ratio', 1.0), chunk=args.chunk,
               budget_mb=args.budget_mb)
    spec = dict(device=args.device, model=model, snippets=args.snippets, frames=args.frames,
                resolution=args.resolution, warmup=1, steps=args.steps)
    runs = [('single_pass', 0.0, args.chunk)]
    for mode in ('single_pass', 'injection'):
        runs += [(mode, r, args.chunk) for r in args.ratios if r > 0]
    for mode in ('single_pass', 'injection'):
        runs += [(mode, 0.3, c) for c in args.chunks if c != args.chunk]
    got = B.measure_many(__file__, [dict(spec, mode=m, ratio=r, chunk=c) for m, r, c in runs])
    res['runs'] = [dict(mode=m if r > 0 else 'frozen (ratio 0)', ratio=r, chunk=c, **g)
                   for (m, r, c), g in zip(runs, got)]
    fits = [x for x in res['runs'] if x['mode'] == 'injection' and x['ratio'] == 0.3
            and 'peak_mb' in x and x['peak_mb'] <= args.budget_mb]
    if fits:
        res['best_injection_chunk_under_budget'] = min(fits, key=lambda x: x['step_s'])['chunk']
    B.write_result(res, args.out or osp.join(B.OUT_DIR, f'egs_{args.device}.json'))


def render(d: dict) -> str:
    dev = d['env']['device'].upper()
    title = f"Encoder Gradient Sampling: memory and step time, {d['backbone']} ({dev})"
    lines = B.head(title, d) + [
        f"One training step (`ETADEndToEnd.train_step`, AdamW, fp32) on one video of "
        f"{d['snippets']} snippets x {d['frames']} frames at {d['resolution']}x"
        f"{d['resolution']}, {d['backbone']} encoder (frozen stages 2, all BatchNorm frozen) "
        f"+ ETAD detector (DPS 6%). Memory: peak over the step "
        + ('(`torch.cuda.max_memory_allocated` minus the model already on the GPU).'
           if dev == 'CUDA' else '(rise of peak RSS over the RSS before the step).'), '',
        '| mode | EGS ratio | chunk | step (s) | peak memory (MB) |', '|---|---|---|---|---|']
    for r in d['runs']:
        cells = (f"{r['step_s']:.3f} | {r['peak_mb']:.0f}" if 'step_s' in r
                 else f"{r.get('error', '?')} | -")
        lines.append(f"| {r['mode']} | {r['ratio']:.0%} | {r['chunk']} | {cells} |")
    if 'best_injection_chunk_under_budget' in d and dev == 'CUDA':
        lines += ['', f"Fastest injection chunk at ratio 30% under {d['budget_mb']:.0f} MB: "
                  f"{d['best_injection_chunk_under_budget']} (the default of "
                  "`EncoderGradientSampling` in injection mode)."]
    return '\n'.join(lines + [''])


def figure(d: dict, dev: str, path: str) -> None:
    """Peak memory and step time against the EGS ratio, both modes (a PNG)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    for mode, marker in (('single_pass', 'o'), ('injection', 's')):
        rows = sorted(((r['ratio'], r) for r in d['runs'] if 'peak_mb' in r and
                       r['chunk'] == d['chunk'] and
                       (r['mode'] == mode or r['ratio'] == 0.0)), key=lambda x: x[0])
        xs = [100 * x for x, _ in rows]
        ax[0].plot(xs, [r['peak_mb'] / 1024 for _, r in rows], marker=marker, label=mode)
        ax[1].plot(xs, [r['step_s'] for _, r in rows], marker=marker, label=mode)
    ax[0].set(xlabel='EGS ratio (%)', ylabel='peak memory (GB)')
    ax[1].set(xlabel='EGS ratio (%)', ylabel='step time (s)')
    ax[0].legend()
    fig.suptitle(f"EGS, {d['backbone']} {d['resolution']}px x {d['frames']} frames, "
                 f"{d['snippets']} snippets, chunk {d['chunk']} ({dev.upper()})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == '__main__':
    if not B.worker_main(run_worker):
        main()
