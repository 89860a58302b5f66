"""Detection mAP against the DPS ratio (the paper's Fig. 4b) and of the sampling
strategies at DPS 6% over seeds (Table 5, DPS column): full ``tools/train.py`` runs of
a config (docs/benchmarks.md).

    python tools/analysis/dps_sweep.py [CONFIG] [--parts strategies ratios] [--seeds 3] \
        [--cfg-options KEY=VALUE ...]

Each run overrides ``model.roi_head.proposal_sampler`` (type, ratio) and
``randomness.seed``; the JSON is written after every run, and a rerun skips the runs
already in it.
"""
import argparse
import json
import os.path as osp
import statistics as st
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark as B  # noqa: E402 (sibling module)

CONFIG = 'configs/etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py'
STRATEGIES = ('RandomSampler', 'GridSampler', 'BlockSampler', 'FPSSampler', 'DPPSampler',
              'IoUBalancedSampler', 'ScaleBalancedSampler')


def train_run(config, options, sampler, ratio, seed, work_root) -> dict:
    """One ``tools/train.py`` run (``repeat_runs.train_once``: a finished run is reused,
    an interrupted one resumed); the metrics of its last validation."""
    from repeat_runs import train_once
    run = train_once(config, osp.join(work_root, f'{sampler}_{ratio:g}_s{seed}'), seed,
                     [*options, f'model.roi_head.proposal_sampler.type={sampler}',
                      f'model.roi_head.proposal_sampler.ratio={ratio}'])
    return dict(sampler=sampler, ratio=ratio, seed=seed, wall_s=run['wall_s'],
                **run['metrics'])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', nargs='?', default=CONFIG)
    p.add_argument('--parts', nargs='+', default=['strategies', 'ratios'],
                   choices=['ratios', 'strategies'])
    p.add_argument('--ratios', type=float, nargs='+', default=[1.0, 0.5, 0.2, 0.1, 0.06, 0.03])
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--cfg-options', nargs='+', default=[], help='passed to tools/train.py')
    p.add_argument('--work-dir', default=osp.join(B.ROOT, 'work_dirs', 'sweep'))
    p.add_argument('--out', default=osp.join(B.OUT_DIR, 'sweep_cpu.json'))
    args = p.parse_args(argv)
    res = dict(env=B.environment('cpu'), command=' '.join(['python'] + sys.argv),
               config=args.config, runs=[])
    if osp.exists(args.out):
        with open(args.out) as f:
            res['runs'] = json.load(f).get('runs', [])
    plan = []
    for part in args.parts:
        if part == 'ratios':
            plan += [('RandomSampler', r, 0) for r in args.ratios]
        else:
            plan += [(s, 0.06, seed) for seed in range(args.seeds) for s in STRATEGIES]
    done = {(r['sampler'], r['ratio'], r['seed']) for r in res['runs']}
    for sampler, ratio, seed in plan:
        if (sampler, ratio, seed) not in done:
            res['runs'].append(train_run(args.config, args.cfg_options, sampler, ratio, seed,
                                         args.work_dir))
            print(json.dumps(res['runs'][-1]), file=sys.stderr, flush=True)
            done.add((sampler, ratio, seed))
            B.write_result(res, args.out, quiet=True)
    B.write_result(res, args.out)


def render(d: dict) -> str:
    pct = B.pct
    lines = B.head('DPS ratio and sampling strategy: detection mAP (CPU)', d) + [
        f"Each row is a full `tools/train.py {d['config']}` run (200 training / 100 "
        "validation semi-synthetic videos, T = 64, 4 epochs, batch 16) with "
        "`model.roi_head.proposal_sampler` (then `model.sampler`) set as shown; "
        "average mAP on the validation videos after the last "
        "epoch. Times are wall-clock per run on the shared 2-core machine (other work ran "
        "concurrently: compare them only loosely).", '']
    runs = d['runs']
    ratios = sorted({r['ratio'] for r in runs if r['sampler'] == 'RandomSampler' and
                     r['seed'] == 0}, reverse=True)
    if len(ratios) > 1:
        lines += ['DPS ratio sweep (random sampling, seed 0; the paper\'s Fig. 4b):', '',
                  '| DPS ratio | mAP@0.50 | mAP@0.75 | mAP@0.95 | average mAP | run (s) |',
                  '|---|---|---|---|---|---|']
        for ratio in ratios:
            r = next(x for x in runs if x['sampler'] == 'RandomSampler' and x['seed'] == 0
                     and x['ratio'] == ratio)
            lines.append(f"| {ratio:.0%} | {pct(r['mAP@0.50'])} | {pct(r['mAP@0.75'])} | "
                         f"{pct(r['mAP@0.95'])} | {pct(r['avg_mAP'])} | {r['wall_s']:.0f} |")
        lines.append('')
    at6 = [r for r in runs if r['ratio'] == 0.06]
    samplers = list(dict.fromkeys(r['sampler'] for r in at6))
    if samplers:
        lines += ['Sampling strategies at DPS 6% (the paper\'s Table 5, DPS column): average '
                  'mAP over seeds (training seeds: data order, initialisation and sampling).', '',
                  '| strategy | seeds | average mAP: mean | std | min | max | per seed |',
                  '|---|---|---|---|---|---|---|']
        for name in samplers:
            vals = [100 * r['avg_mAP'] for r in sorted(at6, key=lambda x: x['seed'])
                    if r['sampler'] == name]
            sd = st.stdev(vals) if len(vals) > 1 else float('nan')
            lines.append(f"| {name} | {len(vals)} | {st.mean(vals):.2f} | {sd:.2f} | "
                         f"{min(vals):.2f} | {max(vals):.2f} | "
                         + ', '.join(f'{v:.2f}' for v in vals) + ' |')
        lines.append('')
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
