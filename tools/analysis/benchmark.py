"""Benchmarks of ETAD against MMAction2's BMN (docs/benchmarks.md).

Each measured configuration runs in its own subprocess so that peak memory is
its own: on CPU, the rise of peak RSS over the RSS just before the first step
(the imports alone hold ~0.7 GB); on CUDA, ``torch.cuda.max_memory_allocated``.
Times are medians over the measured steps after warm-up; comparisons are ratios
of numbers measured in the same run.

Usage::

    python tools/analysis/benchmark.py detector [--device cpu] [--steps 3]
    python tools/analysis/benchmark.py report            # regenerate docs/benchmarks.md
"""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
OUT_DIR = osp.join(ROOT, 'docs', 'benchmarks')


# --------------------------------------------------------------------------- worker
def _rss_mb() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def _peak_rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fake_batch(model_type, batch, t, feat_dim, device):
    import torch
    from mmengine.structures import InstanceData
    from mmaction.structures import ActionDataSample
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(batch, feat_dim, t, generator=g).to(device)
    samples = []
    for i in range(batch):
        # 1-3 actions covering about half the video, as in ActivityNet
        n = 1 + i % 3
        edges = torch.sort(torch.rand(2 * n, generator=g)).values * t
        segs = edges.view(n, 2)
        segs[:, 1] = torch.maximum(segs[:, 1], segs[:, 0] + 1)
        ds = ActionDataSample()
        gt = InstanceData()
        if model_type == 'BMN':
            gt.gt_bbox = (segs / t).to(device)
        else:
            gt.segments = segs.to(device)
            gt.labels = torch.zeros(n, dtype=torch.long)
        ds.gt_instances = gt
        ds.set_metainfo(dict(video_name=f'v{i}', sample_idx=i, num_snippets=t,
                             duration=float(t), window_start=0.0, snippet_seconds=1.0,
                             duration_second=float(t), duration_frame=t * 16,
                             feature_frame=t * 16))
        samples.append(ds)
    return feats, samples


def run_worker(spec: dict) -> dict:
    """Build one model, run warm-up + measured training (or inference) steps."""
    import torch
    import etad_mmaction  # noqa: F401
    from mmaction.registry import MODELS
    device = spec.get('device', 'cpu')
    torch.manual_seed(0)
    model = MODELS.build(spec['model']).to(device)
    t = spec['t']
    feats, samples = _fake_batch(spec['model']['type'], spec['batch'], t, spec['feat_dim'], device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    inference = spec.get('inference', False)
    if inference:
        model.eval()
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    rss0 = _rss_mb()
    times = []
    for i in range(spec['warmup'] + spec['steps']):
        t0 = time.perf_counter()
        if inference:
            with torch.no_grad():
                model(list(feats), samples, mode='predict')
        else:
            losses = model(list(feats), samples, mode='loss')
            loss = sum(v for k, v in losses.items() if 'loss' in k)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if device == 'cuda':
            torch.cuda.synchronize()
        if i >= spec['warmup']:
            times.append(time.perf_counter() - t0)
    res = dict(step_s=statistics.median(times), step_times_s=times)
    if device == 'cuda':
        res['peak_mb'] = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        res['peak_mb'] = _peak_rss_mb() - rss0
    return res


def measure(spec: dict) -> dict:
    """Run :func:`run_worker` in a fresh subprocess."""
    out = subprocess.run([sys.executable, __file__, '_worker', json.dumps(spec)], cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f'benchmark worker failed for {spec}:\n{out.stderr[-3000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- specs
def etad_model(t=128, ratio=0.06, feat_dim=400):
    sampler = None if ratio >= 1 else dict(type='RandomSampler', ratio=ratio)
    return dict(type='ETAD', num_snippets=t, max_duration=t, sampler=sampler,
                neck=dict(type='LSTMFeatureEnhancement', in_channels=feat_dim))


def bmn_model(t=100, feat_dim=400):
    # MMAction2's stock configs/_base_/models/bmn_400x100.py
    return dict(type='BMN', temporal_dim=t, boundary_ratio=0.5, num_samples=32,
                num_samples_per_bin=3, feat_dim=feat_dim, soft_nms_alpha=0.4,
                soft_nms_low_threshold=0.5, soft_nms_high_threshold=0.9,
                post_process_top_k=100)


def environment(device: str) -> dict:
    import torch
    import mmaction
    import mmengine
    env = dict(date=datetime.date.today().isoformat(), python=platform.python_version(),
               torch=torch.__version__, mmengine=mmengine.__version__,
               mmaction2=mmaction.__version__, device=device,
               threads=torch.get_num_threads())
    if device == 'cuda':
        env['gpu'] = torch.cuda.get_device_name(0)
    else:
        cpu = platform.processor()
        try:
            with open('/proc/cpuinfo') as f:
                cpu = next(l.split(':', 1)[1].strip() for l in f if l.startswith('model name'))
        except (OSError, StopIteration):
            pass
        env['cpu'] = cpu
        env['cores'] = os.cpu_count()
    return env


def bench_detector(args) -> dict:
    """Section 1 (cost) and the DPS 6% vs 100% comparison of the detector issue."""
    dev, steps = args.device, args.steps
    big = args.batch
    res = dict(env=environment(dev), command=' '.join(['python'] + sys.argv),
               batch=big, etad_t=128, bmn_t=100, feat_dim=400)
    spec = dict(device=dev, feat_dim=400, warmup=1, steps=steps)
    etad = measure(dict(spec, model=etad_model(128, 0.06), t=128, batch=big))
    bmn = measure(dict(spec, model=bmn_model(100), t=100, batch=big, steps=max(2, steps - 1)))
    res.update(etad_step_s=etad['step_s'], etad_peak_mb=etad['peak_mb'],
               bmn_step_s=bmn['step_s'], bmn_peak_mb=bmn['peak_mb'])
    res['bmn_over_etad_step'] = bmn['step_s'] / etad['step_s']
    res['etad_over_bmn_peak'] = etad['peak_mb'] / bmn['peak_mb']
    small = args.small_batch
    dps = {}
    for ratio in (0.06, 1.0):
        r = measure(dict(spec, model=etad_model(128, ratio), t=128, batch=small))
        dps[f'{int(round(ratio * 100))}pct'] = dict(step_s=r['step_s'], peak_mb=r['peak_mb'])
    res['dps_batch'] = small
    res['dps'] = dps
    res['dps6_over_100_step'] = dps['6pct']['step_s'] / dps['100pct']['step_s']
    res['dps6_over_100_peak'] = dps['6pct']['peak_mb'] / dps['100pct']['peak_mb']
    inf = {}
    for name, model, t in (('etad', etad_model(128, 0.06), 128), ('bmn', bmn_model(100), 100)):
        r = measure(dict(spec, model=model, t=t, batch=1, inference=True, warmup=1,
                         steps=max(3, steps)))
        inf[name] = r['step_s']
    res['etad_infer_s_per_video'] = inf['etad']
    res['bmn_infer_s_per_video'] = inf['bmn']
    return res


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == '_worker':
        print(json.dumps(run_worker(json.loads(sys.argv[2]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('detector', help='ETAD vs BMN training step, memory, DPS 6%% vs 100%%')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--small-batch', type=int, default=4)
    p.add_argument('--out', default=None)
    sub.add_parser('report', help='regenerate docs/benchmarks.md from docs/benchmarks/*.json')
    args = parser.parse_args()
    if args.cmd == 'detector':
        res = bench_detector(args)
        out = args.out or osp.join(OUT_DIR, f'detector_{args.device}.json')
        os.makedirs(osp.dirname(out), exist_ok=True)
        tmp = out + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(res, f, indent=2)
        os.replace(tmp, out)
        print(json.dumps(res, indent=2))
    elif args.cmd == 'report':
        from benchmark_report import write_report  # noqa: E402 (sibling module)
        write_report(OUT_DIR, osp.join(ROOT, 'docs', 'benchmarks.md'))


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    main()
