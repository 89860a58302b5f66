"""Detection mAP and training cost of ETAD against MMAction2's stock BMN on the same
videos: gathers what ``gpu_map_comparison.sh`` left in DIR (ETAD's MMEngine scalars and
log, ``bmn_baseline.py``'s JSON and log) into one JSON (docs/benchmarks.md).

    python tools/analysis/map_comparison.py DIR [--env-from docs/benchmarks/detector_cuda.json]
"""
import argparse
import datetime
import json
import os.path as osp
import re
import statistics
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark as B  # noqa: E402 (sibling module)

DATASET = ('configs/etad/etad_1xb16-6e_synthetic-anet-full-feature.py (1,000 training / '
           '300 validation semi-synthetic videos, 400-d, top-2 classifier classes)')


def log_stats(path):
    """Iteration times and MMEngine memory of the training lines of a log."""
    times, mem = [], []
    with open(path) as f:
        for line in f:
            m = re.search(r'Epoch\(train\).*?\btime: ([0-9.]+).*?memory: ([0-9]+)', line)
            if m:
                times.append(float(m.group(1)))
                mem.append(int(m.group(2)))
    return times, mem


def log_span(path, start_pat, end_pat):
    """Seconds between the first lines holding ``start_pat`` and ``end_pat``."""
    stamps = {}
    with open(path) as f:
        for line in f:
            for key, pat in (('start', start_pat), ('end', end_pat)):
                if key not in stamps and pat in line:
                    stamps[key] = datetime.datetime.strptime(line[:14], '%m/%d %H:%M:%S')
    return (stamps['end'] - stamps['start']).total_seconds() if len(stamps) == 2 else None


def collect(d: str, env_from=None) -> dict:
    with open(osp.join(d, 'bmn.json')) as f:
        bmn = json.load(f)
    etad_val, etad_iters = {}, []
    with open(osp.join(d, 'etad_scalars.json')) as f:
        for line in f:
            rec = json.loads(line)
            if 'avg_mAP' in rec:
                etad_val = rec
            elif 'loss' in rec:
                etad_iters.append(rec)
    bmn_times, bmn_mem = log_stats(osp.join(d, 'bmn.log'))
    env = None
    if env_from:
        with open(env_from) as f:
            env = dict(json.load(f)['env'])
    res = dict(env=env, command='bash tools/analysis/gpu_map_comparison.sh', dataset=DATASET,
               etad=dict(t=128, epochs=6, batch=16, dps=0.06,
                         train_s=log_span(osp.join(d, 'etad.log'), 'Checkpoints will be saved',
                                          'Saving checkpoint at 6 epochs'),
                         iter_s_median=statistics.median(r['time'] for r in etad_iters),
                         max_memory_mb=max(r['memory'] for r in etad_iters),
                         **{k: v for k, v in etad_val.items() if k.startswith(('mAP', 'avg'))}),
               bmn=dict(t=100, epochs=bmn['epochs'], batch=bmn['batch'],
                        train_s=bmn['bmn_train_s'], iter_s_median=statistics.median(bmn_times),
                        max_memory_mb=max(bmn_mem), ar_an=bmn['bmn_ar_an'],
                        **{k[4:]: v for k, v in bmn.items()
                           if k.startswith(('bmn_mAP', 'bmn_avg'))}))
    res['etad_minus_bmn_avg_map'] = res['etad']['avg_mAP'] - res['bmn']['avg_mAP']
    res['bmn_over_etad_train_time'] = res['bmn']['train_s'] / res['etad']['train_s']
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('dir')
    p.add_argument('--env-from', default=None,
                   help='a JSON of the same machine whose "env" to record (e.g. detector_cuda)')
    p.add_argument('--out', default=osp.join(B.OUT_DIR, 'map_comparison_cuda.json'))
    args = p.parse_args(argv)
    B.write_result(collect(args.dir, args.env_from), args.out)


def render(d: dict) -> str:
    e, b, pct = d['etad'], d['bmn'], B.pct
    lines = B.head('Detection mAP: ETAD vs MMAction2 BMN on the same videos (GPU)', d) + [
        f"Data: {d['dataset']}. ETAD: its config (T = {e['t']}, DPS {e['dps']:.0%}, "
        f"{e['epochs']} epochs, batch {e['batch']}). BMN: MMAction2's stock "
        f"`bmn_2xb8-400x100-9e_activitynet-feature.py` (T = {b['t']}, {b['epochs']} epochs, "
        f"batch {b['batch']} on one GPU) through `tools/analysis/bmn_baseline.py`; its "
        "proposals get the same classifier classes (top 2) and the same mAP code as ETAD. "
        "One seed (0) each.", '',
        '| | mAP@0.50 | mAP@0.75 | mAP@0.95 | average mAP | training (s) | iteration (s, median) '
        '| max memory (MB, MMEngine) |', '|---|---|---|---|---|---|---|---|']
    for name, r in (('ETAD', e), ('BMN', b)):
        lines.append(f"| {name} | {pct(r['mAP@0.50'])} | {pct(r['mAP@0.75'])} | "
                     f"{pct(r['mAP@0.95'])} | {pct(r['avg_mAP'])} | {r['train_s']:.0f} | "
                     f"{r['iter_s_median']:.3f} | {r['max_memory_mb']} |")
    lines += ['', f"ETAD - BMN average mAP: {100 * d['etad_minus_bmn_avg_map']:+.2f} points; "
              f"BMN / ETAD training time: {d['bmn_over_etad_train_time']:.1f}x (iteration "
              "times include data loading; training time is from the first to the last "
              "training iteration, checkpoint of the last epoch excluded for ETAD).", '']
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
