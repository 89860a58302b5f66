"""Paper-text preset vs official-code preset on the semi-synthetic benchmark.

    python tools/analysis/compare_presets.py [--config CFG] [--seeds 0 1 2] [--jobs 2]

Both presets train on the same data and schedule (default: the ablation-sweep
benchmark ``configs/etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py``: T = 64, 200
training / 100 validation semi-synthetic videos, 4 epochs, DPS 6% random, as the
sampler sweeps of docs/benchmarks.md); the official preset takes every model
option of ``configs/etad/etad-official_1xb16-6e_anet-tsp-feature.py`` and its roi_align
feature rescale. Each (preset, seed) is one ``tools/train.py`` run. Reported per
preset: average mAP (mean and std over seeds), training time per iteration (CPU,
from the logs), counted peak tensor memory of one step at batch 16 and the
parameter count. A third row evaluates the paper preset's checkpoints with the
official preset's post-processing (score, boundary selection, Soft-NMS): how much of
a gap is inference and how much training. ``--skip-train`` re-evaluates the
checkpoints of an earlier run with the current code. Writes
``docs/benchmarks/preset_comparison_cpu.json``.
"""
import re
import argparse
import copy
import json
import os.path as osp
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
BASE = osp.join(ROOT, 'configs', 'etad', 'etad_1xb16-4e_synthetic-anet-sweep-feature.py')
OFFICIAL = osp.join(ROOT, 'configs', 'etad', 'etad-official_1xb16-6e_anet-tsp-feature.py')
OUT = osp.join(ROOT, 'docs', 'benchmarks', 'preset_comparison_cpu.json')


def preset_configs(base: str = BASE):
    """``{'paper': Config, 'official': Config}`` on the same data and schedule."""
    from mmengine.config import Config
    paper = Config.fromfile(base)
    official = copy.deepcopy(paper)
    model = Config.fromfile(OFFICIAL).model.to_dict()
    for key in ('num_snippets', 'max_duration'):
        model[key] = paper.model[key]
    model['neck']['in_channels'] = paper.model['neck']['in_channels']
    official.model = model
    pipe = [dict(type='LoadTADFeature'), dict(type='ResizeTADFeature', mode='roi_align'),
            dict(type='PackTADInputs')]
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        official[key]['dataset']['pipeline'] = pipe
    post = copy.deepcopy(paper)
    post.model.roi_head.test_cfg = official.model.roi_head.test_cfg
    post.model.test_cfg = official.model.test_cfg
    return dict(paper=paper, official=official, paper_released_post=post)


def evaluate(cfg_file: str, work_dir: str) -> dict:
    """Average mAP of ``work_dir``'s last checkpoint under ``cfg_file`` (tools/test.py)."""
    ckpt = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'test.py'), cfg_file, ckpt, '--work-dir',
           osp.join(work_dir, 'test_' + osp.splitext(osp.basename(cfg_file))[0])]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f'{" ".join(cmd)} failed:\n{run.stderr[-3000:]}')
    text = run.stdout + run.stderr
    found = re.findall(r'(mAP@[0-9.]+|avg_mAP): ([0-9.]+)', text)
    return {k: float(v) for k, v in found}


def step_cost(cfg) -> dict:
    """Parameters and counted peak tensor memory of one training step at batch 16."""
    import torch
    from mmengine.dataset import pseudo_collate
    from mmaction.registry import DATASETS, MODELS
    from step_profile import profile_step
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    data = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([data[i] for i in range(16)])
    prof = profile_step(model.train(), torch.stack(batch['inputs']).float(),
                        batch['data_samples'])
    return dict(params=sum(p.numel() for p in model.parameters()),
                peak_tensor_mb=round(prof['peak_tensor_mb'], 1), ops=prof['ops'])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=BASE, help='the paper-text preset on the data')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--jobs', type=int, default=2, help='training runs at once')
    parser.add_argument('--work-root', default=osp.join(ROOT, 'work_dirs', 'compare_presets'))
    parser.add_argument('--out', default=OUT)
    parser.add_argument('--skip-train', action='store_true',
                        help="evaluate the checkpoints of an earlier run's work dirs")
    args = parser.parse_args()
    from repeat_runs import train_once
    import etad_mmaction  # noqa: F401
    from mmengine.registry import DefaultScope
    DefaultScope.get_instance('compare_presets', scope_name='mmaction')
    from etad_mmaction.datasets.synthetic import ensure_synthetic_dataset
    cfgs = preset_configs(args.config)
    ds = cfgs['paper'].train_dataloader.dataset
    ensure_synthetic_dataset(osp.join(ROOT, ds['data_root']), **ds['synthetic'])
    tmp = tempfile.mkdtemp(prefix='compare_presets_')
    files = {}
    for name, cfg in cfgs.items():
        files[name] = osp.join(tmp, f'{name}.py')
        cfg.dump(files[name])
    jobs = [(name, seed) for seed in args.seeds for name in ('paper', 'official')]

    def work(name, seed):
        return osp.join(args.work_root, f'{name}_s{seed}')

    def run(job):
        name, seed = job
        out = (dict(seed=seed, s_per_iter=None) if args.skip_train
               else train_once(files[name], work(name, seed), seed))
        # the metrics of the checkpoint under the current code and, for the paper
        # preset, under the official post-processing too
        out['metrics'] = evaluate(files[name], work(name, seed))
        post = None
        if name == 'paper':
            post = dict(seed=seed, s_per_iter=None,
                        metrics=evaluate(files['paper_released_post'], work(name, seed)))
        return out, post
    with ThreadPoolExecutor(args.jobs) as pool:
        done = list(pool.map(run, jobs))
    jobs += [('paper_released_post', seed) for (name, seed) in jobs if name == 'paper']
    done = [d for d, _ in done] + [p for _, p in done if p is not None]
    from benchmark import environment
    result = dict(command='python ' + ' '.join(sys.argv), env=environment('cpu'),
                  base_config=osp.relpath(args.config, ROOT),
                  official_config=osp.relpath(OFFICIAL, ROOT), seeds=args.seeds, presets={})
    for name, cfg in cfgs.items():
        runs = [r for (n, _), r in zip(jobs, done) if n == name]
        if args.skip_train and osp.exists(args.out):      # keep the training times
            old = json.load(open(args.out))['presets'].get(name, {}).get('runs', [])
            for r, o in zip(runs, old):
                r['s_per_iter'] = o.get('s_per_iter')
        avg = [r['metrics'].get('avg_mAP', np.nan) for r in runs]
        cost = (result['presets']['paper'] if name == 'paper_released_post'
                else step_cost(cfg))
        result['presets'][name] = dict(
            runs=runs, avg_mAP_mean=float(np.mean(avg)),
            avg_mAP_std=float(np.std(avg, ddof=1)) if len(avg) > 1 else 0.0,
            **{k: cost[k] for k in ('params', 'peak_tensor_mb', 'ops')})
    from etad_mmaction.fileio import dump_json
    dump_json(result, args.out, indent=1)
    for name, r in result['presets'].items():
        print(f"{name}: avg mAP {r['avg_mAP_mean']:.4f} +- {r['avg_mAP_std']:.4f}, "
              f"s/iter {[x['s_per_iter'] for x in r['runs']]}, params {r['params']:,}, "
              f"peak tensor {r['peak_tensor_mb']} MB")


def render(d: dict) -> str:
    """The docs/benchmarks.md section of this comparison's JSON."""
    import benchmark as B
    p = d['presets']
    lines = ['### Paper-text preset vs official-code preset (semi-synthetic, CPU)', '',
             f"Command: `{d['command']}`  ", f"Machine: {B.env_line(d['env'])}"
             if 'env' in d else '', '',
             "Both presets on the same data and schedule "
             f"(`{d['base_config']}`), DPS 6% random, seeds {d['seeds']}; the official "
             "preset with every model "
             "option of `etad-official_1xb16-6e_anet-tsp-feature.py` and its roi_align rescale. "
             "Average mAP is mean +- sample std over the seeds; time per iteration is the "
             "median of each run's logged iteration times (runs shared the 2 cores, two at "
             'a time: compare loosely); peak tensor memory is counted for one training '
             'step at batch 16 (`step_profile.py`). `paper_released_post`: the paper '
             "preset's checkpoints evaluated with the official preset's post-processing "
             '(score, boundary selection, Soft-NMS). Every mAP is of the final '
             'checkpoint evaluated by `tools/test.py` with the code named above.', '',
             *([d['note'], ''] if d.get('note') else []),
             '| preset | avg mAP (%) | per seed | s / iter | parameters | peak tensor MB | '
             'ops / step |', '|---|---|---|---|---|---|---|']
    for name, r in p.items():
        seeds = ', '.join(f"{100 * x['metrics'].get('avg_mAP', float('nan')):.2f}"
                          for x in r['runs'])
        times = ', '.join(f"{x['s_per_iter']:.2f}" for x in r['runs'] if x['s_per_iter']) or '-'
        lines.append(f"| {name} | {100 * r['avg_mAP_mean']:.2f} +- {100 * r['avg_mAP_std']:.2f}"
                     f" | {seeds} | {times} | {r['params']:,} | {r['peak_tensor_mb']:.0f} | "
                     f"{r['ops']:,} |")
    return '\n'.join(lines + [''])


if __name__ == '__main__':
    main()
