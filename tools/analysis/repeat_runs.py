"""Train one config with several seeds and report mean +- std of every metric.

    python tools/analysis/repeat_runs.py CONFIG [--seeds 0 1 2 3 4] [--jobs 1]
        [--work-root DIR] [--out OUT.json] [--cfg-options KEY=VALUE ...]

The paper averages its numbers over 5 training runs (Sec. 4.2). Each seed is one
``tools/train.py`` run (``randomness.seed=<seed>``) in ``<work-root>/s<seed>``; its
last validation metrics and median seconds per training iteration are read from
the run's ``scalars.json`` and kept in ``<work dir>/repeat_run.json``, so a rerun
skips the seeds already finished. The summary JSON holds every run and, per metric,
``mean``, ``std`` (ddof=1; 0 for one run) and ``n``. ``tools/analysis/ablation.py``
trains its rows through :func:`train_once`.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.realpath(__file__))))
RESULT = 'repeat_run.json'


def read_run(work_dir: str, max_epochs=None) -> dict:
    """Last validation metrics and median s/iter of a finished ``tools/train.py`` run
    (with ``max_epochs``: an error unless that validation is of the last epoch)."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not logs:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}')
    with open(logs[-1]) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    vals = [r for r in rows if 'avg_mAP' in r]
    if not vals:
        raise RuntimeError(f'{logs[-1]} holds no validation result (avg_mAP): the run '
                           'did not validate; check train_cfg.val_interval')
    if max_epochs is not None and vals[-1].get('step') != max_epochs:
        raise RuntimeError(f'{logs[-1]}: the last validation is of epoch '
                           f'{vals[-1].get("step")}, not {max_epochs}: the run did not finish')
    times = [r['time'] for r in rows if 'time' in r and 'loss' in r]
    metrics = {k: float(v) for k, v in vals[-1].items() if k.startswith(('mAP@', 'avg_mAP'))}
    # the first iterations include warm-up (allocations, data workers)
    return dict(metrics=metrics, s_per_iter=float(np.median(times[5:] or times)),
                iters=len(times))


def train_once(config: str, work_dir: str, seed: int, cfg_options=(), env=None) -> dict:
    """Train ``config`` with ``seed`` in ``work_dir`` (or reuse its finished result)."""
    done = osp.join(work_dir, RESULT)
    if osp.exists(done):
        with open(done) as f:
            return json.load(f)
    from mmengine.config import Config
    max_epochs = Config.fromfile(config).train_cfg.max_epochs
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir,
           '--cfg-options', f'randomness.seed={seed}', *cfg_options]
    if osp.exists(osp.join(work_dir, 'last_checkpoint')):
        cmd.append('--resume')  # an interrupted run continues from its last checkpoint
    t0 = time.perf_counter()
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                         env=dict(os.environ, **(env or {})))
    if run.returncode:
        raise RuntimeError(f'{" ".join(cmd)} exited {run.returncode}:\n{run.stderr[-3000:]}')
    out = dict(config=osp.relpath(config, ROOT), seed=seed,
               wall_s=round(time.perf_counter() - t0, 1), **read_run(work_dir, max_epochs))
    from etad_mmaction.fileio import dump_json
    dump_json(out, done, indent=1)
    return out


def summarize(runs: list) -> dict:
    """``{metric: {mean, std, n}}`` over runs (std with ddof=1, 0 for one run)."""
    keys = sorted({k for r in runs for k in r['metrics']})
    out = {}
    for k in keys:
        vals = np.array([r['metrics'][k] for r in runs if k in r['metrics']], float)
        out[k] = dict(mean=float(vals.mean()), n=int(vals.size),
                      std=float(vals.std(ddof=1)) if vals.size > 1 else 0.0)
    return out


def repeat(config: str, seeds, work_root: str, jobs: int = 1, cfg_options=()) -> dict:
    """Train ``config`` once per seed (``jobs`` runs at once) and summarise."""
    def one(seed):
        return train_once(config, osp.join(work_root, f's{seed}'), seed, cfg_options)
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        runs = list(pool.map(one, seeds))
    return dict(config=osp.relpath(config, ROOT), cfg_options=list(cfg_options),
                seeds=list(seeds), runs=runs, summary=summarize(runs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4])
    parser.add_argument('--jobs', type=int, default=1,
                        help='training runs at once (each uses train.py\'s thread policy)')
    parser.add_argument('--work-root', help='default: work_dirs/repeat/<config name>')
    parser.add_argument('--out', help='summary JSON (default: <work-root>/summary.json)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to every tools/train.py run')
    args = parser.parse_args()
    if not osp.isfile(args.config):
        parser.error(f'config file not found: {args.config}')
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds repeats a seed: {args.seeds}')
    name = osp.splitext(osp.basename(args.config))[0]
    work_root = args.work_root or osp.join(ROOT, 'work_dirs', 'repeat', name)
    result = repeat(osp.abspath(args.config), args.seeds, work_root, args.jobs,
                    args.cfg_options)
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark import environment
    result = dict(command='python ' + ' '.join(sys.argv), env=environment('cpu'), **result)
    from etad_mmaction.fileio import dump_json
    out = args.out or osp.join(work_root, 'summary.json')
    dump_json(result, out, indent=1)
    for k, s in result['summary'].items():
        print(f"{k}: {s['mean']:.4f} +- {s['std']:.4f} (n={s['n']})")
    print(f'written: {out}')


if __name__ == '__main__':
    main()
