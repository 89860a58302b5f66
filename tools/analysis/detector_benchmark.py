"""Training step, peak memory and inference of ETAD (a config) against MMAction2's stock
BMN, and Detector Proposal Sampling 6% vs 100% (docs/benchmarks.md, "Detector cost").

    python tools/analysis/detector_benchmark.py \
        configs/etad/etad_1xb16-6e_synthetic-anet-full-feature.py [--device cpu] \
        [--steps 3] [--batch 16] [--small-batch 4] [--cfg-options KEY=VALUE ...]

Random features at the config's ``num_snippets`` and ``neck.in_channels``; BMN is
``bmn_400x100`` (T = 100) on features of the same width. Each configuration runs in its
own process on CPU (peak RSS), all in one on CUDA (``benchmark.measure_many``); times
are medians after one warm-up step.
"""
import argparse
import copy
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark as B  # noqa: E402 (sibling module)


def run_worker(spec: dict) -> dict:
    """Build ``spec['model']`` and time its training (or inference) steps."""
    import torch

    import etad_mmaction  # noqa: F401
    from etad_mmaction.testing import random_feature_batch
    from mmaction.registry import MODELS
    device = spec.get('device', 'cpu')
    torch.manual_seed(0)
    model = MODELS.build(spec['model']).to(device)
    feats, samples = random_feature_batch(spec['batch'], spec['t'], spec['feat_dim'], device,
                                          bmn=spec['model']['type'] == 'BMN')
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    if spec.get('inference'):
        model.eval()

        def step():
            with torch.no_grad():
                model(list(feats), samples, mode='predict')
    else:
        def step():
            losses = model(list(feats), samples, mode='loss')
            opt.zero_grad()
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            opt.step()
    return B.timed_steps(step, spec['warmup'], spec['steps'], device)


def etad_and_full(config: str, cfg_options=None):
    """The config's ETAD (its DPS) and the same model with all proposals (100%)."""
    etad = B.model_config(config, cfg_options)
    full = copy.deepcopy(etad)
    full['roi_head']['proposal_sampler'] = None
    return etad, full


def bmn_model(feat_dim: int) -> dict:
    """MMAction2's stock BMN model (``bmn_400x100``), read from the installed package."""
    from mmengine.config import Config

    from bmn_baseline import stock_bmn_config
    model = Config.fromfile(stock_bmn_config()).model.to_dict()
    if model['feat_dim'] != feat_dim:
        raise ValueError(f'the stock BMN takes {model["feat_dim"]}-d features, the config '
                         f'{feat_dim}-d (neck.in_channels): compare on the same features')
    return model


def main(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--small-batch', type=int, default=4)
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    p.add_argument('--out', default=None, help='default docs/benchmarks/detector_<device>.json')
    args = p.parse_args(argv)
    B.thread_policy()
    etad, full = etad_and_full(args.config, args.cfg_options)
    t, dim = etad['num_snippets'], etad['neck']['in_channels']
    bmn = bmn_model(dim)
    res = dict(env=B.environment(args.device), command=' '.join(['python'] + sys.argv),
               config=args.config, batch=args.batch, etad_t=t, bmn_t=bmn['temporal_dim'],
               feat_dim=dim)
    spec = dict(device=args.device, feat_dim=dim, warmup=1, steps=args.steps)
    inf = dict(batch=1, inference=True, steps=max(3, args.steps))
    got = B.measure_many(__file__, [
        dict(spec, model=etad, t=t, batch=args.batch),
        dict(spec, model=bmn, t=bmn['temporal_dim'], batch=args.batch,
             steps=max(2, args.steps - 1)),
        dict(spec, model=etad, t=t, batch=args.small_batch),
        dict(spec, model=full, t=t, batch=args.small_batch),
        dict(spec, model=etad, t=t, **inf),
        dict(spec, model=bmn, t=bmn['temporal_dim'], **inf)])
    etad_r, bmn_r, dps6, dps100, inf_etad, inf_bmn = got
    res.update(etad_step_s=etad_r['step_s'], etad_peak_mb=etad_r['peak_mb'],
               bmn_step_s=bmn_r['step_s'], bmn_peak_mb=bmn_r['peak_mb'],
               bmn_over_etad_step=bmn_r['step_s'] / etad_r['step_s'],
               etad_over_bmn_peak=etad_r['peak_mb'] / bmn_r['peak_mb'],
               dps_batch=args.small_batch,
               dps={'6pct': dict(step_s=dps6['step_s'], peak_mb=dps6['peak_mb']),
                    '100pct': dict(step_s=dps100['step_s'], peak_mb=dps100['peak_mb'])},
               dps6_over_100_step=dps6['step_s'] / dps100['step_s'],
               dps6_over_100_peak=dps6['peak_mb'] / dps100['peak_mb'],
               etad_infer_s_per_video=inf_etad['step_s'],
               bmn_infer_s_per_video=inf_bmn['step_s'])
    B.write_result(res, args.out or osp.join(B.OUT_DIR, f'detector_{args.device}.json'))


def render(d: dict) -> str:
    dps = d['dps']
    return '\n'.join(B.head(f"Detector cost: ETAD vs MMAction2 BMN ({d['env']['device'].upper()})",
                            d) + [
        f"Training step on random {d['feat_dim']}-d features, batch {d['batch']}, "
        f"ETAD at T = {d['etad_t']} with DPS 6% random, BMN (stock MMAction2 "
        f"`bmn_400x100` model) at T = {d['bmn_t']}; median of the measured steps after "
        "one warm-up step; memory is the rise of peak RSS over the RSS before the first "
        "step (CPU) or `torch.cuda.max_memory_allocated` (GPU), each model in its own "
        "process.", '',
        '| | ETAD (6%) | BMN | ratio |', '|---|---|---|---|',
        f"| step time (s) | {d['etad_step_s']:.2f} | {d['bmn_step_s']:.2f} | "
        f"BMN / ETAD = {d['bmn_over_etad_step']:.1f}x |",
        f"| peak memory (MB) | {d['etad_peak_mb']:.0f} | {d['bmn_peak_mb']:.0f} | "
        f"ETAD / BMN = {d['etad_over_bmn_peak']:.2f} |",
        f"| inference per video (s, batch 1, incl. post-processing) | "
        f"{d['etad_infer_s_per_video']:.3f} | {d['bmn_infer_s_per_video']:.3f} | |", '',
        f"Detector Proposal Sampling at batch {d['dps_batch']} (T = 128):", '',
        '| proposals | step time (s) | peak memory (MB) |', '|---|---|---|',
        f"| 6% | {dps['6pct']['step_s']:.2f} | {dps['6pct']['peak_mb']:.0f} |",
        f"| 100% | {dps['100pct']['step_s']:.2f} | {dps['100pct']['peak_mb']:.0f} |",
        f"| 6% / 100% | {d['dps6_over_100_step']:.3f} | {d['dps6_over_100_peak']:.3f} |", ''])


if __name__ == '__main__':
    if not B.worker_main(run_worker):
        main()
