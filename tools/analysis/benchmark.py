"""Benchmarks of ETAD against MMAction2's BMN (docs/benchmarks.md).

Each measured configuration runs in its own subprocess so that peak memory is
its own: on CPU, the rise of peak RSS over the RSS just before the first step
(the imports alone hold ~0.7 GB); on CUDA, ``torch.cuda.max_memory_allocated``.
Times are medians over the measured steps after warm-up; comparisons are ratios
of numbers measured in the same run.

Usage::

    python tools/analysis/benchmark.py detector [--device cpu] [--steps 3]
    python tools/analysis/benchmark.py dps [--device cpu]   # DPS ratio sweep, DPS at inference
    python tools/analysis/benchmark.py egs [--device cpu]   # EGS memory / time vs ratio, mode
    python tools/analysis/benchmark.py sweep             # DPS ratio / strategy mAP (training runs)
    python tools/analysis/benchmark.py profile [--batch 16] # counted ops, host syncs, tensor memory
    python tools/analysis/benchmark.py report            # regenerate docs/benchmarks.md

On CUDA all configurations of one subcommand run one after another in a single
worker process (``torch.cuda.reset_peak_memory_stats`` between them); on CPU each
runs in its own process, since peak RSS cannot be reset.
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
    from etad_mmaction.testing import random_feature_batch
    return random_feature_batch(batch, t, feat_dim, device, bmn=model_type == 'BMN')


def run_worker(spec: dict) -> dict:
    """Build one model, run warm-up + measured training (or inference) steps."""
    if spec.get('kind') == 'egs':
        return run_egs_worker(spec)
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


def run_egs_worker(spec: dict) -> dict:
    """One end-to-end training step (``ETADEndToEnd.train_step``): TSM-ResNet
    encoder (frozen stages 2, all BatchNorm frozen) + ETAD with DPS 6%, one video
    of ``snippets`` snippets of ``frames`` frames at ``resolution`` pixels."""
    import torch
    import etad_mmaction  # noqa: F401
    from mmengine.optim import OptimWrapper
    from mmaction.registry import MODELS
    device = spec.get('device', 'cpu')
    m, frames, res = spec['snippets'], spec['frames'], spec['resolution']
    depth = spec.get('depth', 50)
    if spec.get('backbone', 'tsm') == 'r2plus1d':
        # the end-to-end R(2+1)D-34 config's encoder (TSP layout)
        from etad_mmaction.models.converters import TSP_R2PLUS1D_34
        backbone = dict(TSP_R2PLUS1D_34)
        feat_dim = 512
    else:
        backbone = dict(type='ResNetTSM', depth=depth, num_segments=frames, pretrained=None)
        feat_dim = 2048 if depth >= 50 else 512
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='ETADEndToEnd',
        data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], format_shape='NCTHW'),
        encoder=dict(type='SnippetEncoder', frozen_stages=2, backbone=backbone),
        detector=etad_model(m, 0.06, feat_dim),
        egs=dict(ratio=spec['ratio'], mode=spec['mode'], chunk_size=spec['chunk'],
                 sampler=dict(type='RandomSampler')))).to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    wrapper = OptimWrapper(torch.optim.AdamW(params, lr=1e-4, weight_decay=1e-4))
    g = torch.Generator().manual_seed(0)
    video = torch.randint(0, 256, (m, 3, frames, res, res), generator=g, dtype=torch.uint8)
    _, samples = _fake_batch('ETAD', 1, m, 8, 'cpu')
    data = dict(inputs=[video], data_samples=samples)
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    rss0 = _rss_mb()
    times = []
    for i in range(spec['warmup'] + spec['steps']):
        t0 = time.perf_counter()
        model.train_step(data, wrapper)
        if device == 'cuda':
            torch.cuda.synchronize()
        if i >= spec['warmup']:
            times.append(time.perf_counter() - t0)
    res_ = dict(step_s=statistics.median(times), step_times_s=times,
                encoder_trainable_params=sum(p.numel() for p in model.encoder.parameters()
                                             if p.requires_grad))
    if device == 'cuda':
        res_['peak_mb'] = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        res_['peak_mb'] = _peak_rss_mb() - rss0
    return res_


def _run_many(specs: list) -> list:
    """All specs in this process (CUDA): free everything between them."""
    import gc
    import torch
    out = []
    for spec in specs:
        try:
            out.append(run_worker(spec))
        except torch.cuda.OutOfMemoryError as err:      # a measured outcome, not a crash
            out.append(dict(error=f'CUDA out of memory: {str(err)[:200]}'))
        gc.collect()
        torch.cuda.empty_cache()
    return out


def measure(spec: dict) -> dict:
    """Run :func:`run_worker` in a fresh subprocess."""
    return measure_many([spec])[0]


def measure_many(specs: list) -> list:
    """CPU: one subprocess per spec (peak RSS is per process). CUDA: one subprocess
    for all specs (peak memory is reset between them), which saves the start-up."""
    if specs and specs[0].get('device') == 'cuda':
        batches = [specs]
    else:
        batches = [[s] for s in specs]
    results = []
    for batch in batches:
        out = subprocess.run([sys.executable, __file__, '_worker', json.dumps(batch)], cwd=ROOT,
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f'benchmark worker failed for {batch}:\n{out.stderr[-3000:]}')
        got = json.loads(out.stdout.strip().splitlines()[-1])
        for spec, r in zip(batch, got):
            print(f"  {json.dumps({k: v for k, v in spec.items() if k != 'model'})} -> "
                  f"{json.dumps({k: v for k, v in r.items() if k != 'step_times_s'})}",
                  file=sys.stderr, flush=True)
        results.extend(got)
    return results


# --------------------------------------------------------------------------- specs
def etad_model(t=128, ratio=0.06, feat_dim=400):
    sampler = None if ratio >= 1 else dict(type='RandomProposalSampler', ratio=ratio)
    return dict(type='ETAD', num_snippets=t, max_duration=t,
                roi_head=dict(type='ETADRoIHead', stage_head=dict(), proposal_sampler=sampler),
                neck=dict(type='LSTMFeatureEnhancement', in_channels=feat_dim))


def bmn_model(t=100, feat_dim=400):
    """MMAction2's stock BMN model (``bmn_400x100``), read from the installed package."""
    from mmengine.config import Config
    from bmn_baseline import stock_bmn_config
    model = Config.fromfile(stock_bmn_config()).model.to_dict()
    assert (model['temporal_dim'], model['feat_dim']) == (t, feat_dim), model
    return model


def code_commit():
    """The measured code: ``$ETAD_COMMIT`` (set it where the tree is a copy without
    ``.git``, e.g. on a lent GPU machine), else ``git rev-parse --short HEAD`` with
    ``+modified`` when tracked files differ from it; None when neither is known."""
    if os.environ.get('ETAD_COMMIT'):
        return os.environ['ETAD_COMMIT']
    import subprocess
    try:
        head = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ('+modified' if dirty.strip() else '')


def environment(device: str) -> dict:
    import torch
    import mmaction
    import mmengine
    env = dict(date=datetime.date.today().isoformat(), python=platform.python_version(),
               torch=torch.__version__, mmengine=mmengine.__version__,
               mmaction2=mmaction.__version__, device=device,
               threads=torch.get_num_threads(),
               omp_num_threads=os.environ.get('OMP_NUM_THREADS'))
    commit = code_commit()
    if commit:
        env['commit'] = commit
    if device == 'cuda':
        env['gpu'] = torch.cuda.get_device_name(0)
        env['cudnn_allow_tf32'] = torch.backends.cudnn.allow_tf32
        env['matmul_allow_tf32'] = torch.backends.cuda.matmul.allow_tf32
    else:
        cpu = platform.processor()
        try:
            with open('/proc/cpuinfo') as f:
                cpu = next(line.split(':', 1)[1].strip() for line in f
                           if line.startswith('model name'))
        except (OSError, StopIteration):
            pass
        env['cpu'] = cpu
        env['cores'] = os.cpu_count()
    return env


def bench_detector(args) -> dict:
    """Section 1 (cost) and the DPS 6% vs 100% comparison of the detector issue."""
    dev, steps = args.device, args.steps
    big, small = args.batch, args.small_batch
    res = dict(env=environment(dev), command=' '.join(['python'] + sys.argv),
               batch=big, etad_t=128, bmn_t=100, feat_dim=400)
    spec = dict(device=dev, feat_dim=400, warmup=1, steps=steps)
    specs = [dict(spec, model=etad_model(128, 0.06), t=128, batch=big),
             dict(spec, model=bmn_model(100), t=100, batch=big, steps=max(2, steps - 1)),
             dict(spec, model=etad_model(128, 0.06), t=128, batch=small),
             dict(spec, model=etad_model(128, 1.0), t=128, batch=small),
             dict(spec, model=etad_model(128, 0.06), t=128, batch=1, inference=True,
                  steps=max(3, steps)),
             dict(spec, model=bmn_model(100), t=100, batch=1, inference=True,
                  steps=max(3, steps))]
    etad, bmn, dps6, dps100, inf_etad, inf_bmn = measure_many(specs)
    res.update(etad_step_s=etad['step_s'], etad_peak_mb=etad['peak_mb'],
               bmn_step_s=bmn['step_s'], bmn_peak_mb=bmn['peak_mb'])
    res['bmn_over_etad_step'] = bmn['step_s'] / etad['step_s']
    res['etad_over_bmn_peak'] = etad['peak_mb'] / bmn['peak_mb']
    res['dps_batch'] = small
    res['dps'] = {'6pct': dict(step_s=dps6['step_s'], peak_mb=dps6['peak_mb']),
                  '100pct': dict(step_s=dps100['step_s'], peak_mb=dps100['peak_mb'])}
    res['dps6_over_100_step'] = dps6['step_s'] / dps100['step_s']
    res['dps6_over_100_peak'] = dps6['peak_mb'] / dps100['peak_mb']
    res['etad_infer_s_per_video'] = inf_etad['step_s']
    res['bmn_infer_s_per_video'] = inf_bmn['step_s']
    return res


def bench_dps(args) -> dict:
    """Section 2 (cost side of the DPS ratio sweep, Fig. 4b) and section 6 (DPS at
    inference with grid sampling, App. C.3 Table 9)."""
    dev, steps = args.device, args.steps
    res = dict(env=environment(dev), command=' '.join(['python'] + sys.argv),
               batch=args.batch, t=128, feat_dim=400)
    spec = dict(device=dev, feat_dim=400, warmup=1, steps=steps, t=128)
    train_ratios = [float(r) for r in args.ratios]
    infer_ratios = [float(r) for r in args.infer_ratios]
    specs = [dict(spec, model=etad_model(128, r), batch=args.batch) for r in train_ratios]
    for r in infer_ratios:
        model = etad_model(128, 0.06)
        model['roi_head']['test_proposal_sampler'] = (
            None if r >= 1 else dict(type='GridProposalSampler', ratio=r))
        specs.append(dict(spec, model=model, batch=1, inference=True, steps=max(5, steps)))
    got = measure_many(specs)
    train, infer = got[:len(train_ratios)], got[len(train_ratios):]
    full = dict(zip(train_ratios, train)).get(1.0)
    res['train'] = [dict(ratio=r, step_s=g['step_s'], peak_mb=g['peak_mb'],
                         step_vs_100=(g['step_s'] / full['step_s']) if full else None,
                         peak_vs_100=(g['peak_mb'] / full['peak_mb']) if full else None)
                    for r, g in zip(train_ratios, train)]
    res['inference'] = [dict(ratio=r, s_per_video=g['step_s']) for r, g in zip(infer_ratios, infer)]
    return res


def bench_egs(args) -> dict:
    """Section 4: EGS memory and step time vs ratio, mode and chunk size."""
    dev = args.device
    res = dict(env=environment(dev), command=' '.join(['python'] + sys.argv),
               snippets=args.snippets, frames=args.frames, resolution=args.resolution,
               backbone=('R(2+1)D-34 (TSP layout)' if args.backbone == 'r2plus1d'
                         else f'ResNetTSM-{args.depth}'),
               frozen_stages=2, detector_dps=0.06,
               chunk=args.chunk, budget_mb=args.budget_mb)
    spec = dict(kind='egs', device=dev, snippets=args.snippets, frames=args.frames,
                resolution=args.resolution, depth=args.depth, backbone=args.backbone,
                warmup=1, steps=args.steps)
    runs = [('single_pass', 0.0, args.chunk)]
    for mode in ('single_pass', 'injection'):
        runs += [(mode, float(r), args.chunk) for r in args.ratios if float(r) > 0]
    for mode in ('single_pass', 'injection'):
        runs += [(mode, 0.3, c) for c in args.chunks if c != args.chunk]
    got = measure_many([dict(spec, mode=m, ratio=r, chunk=c) for m, r, c in runs])
    res['runs'] = [dict(mode=m if r > 0 else 'frozen (ratio 0)', ratio=r, chunk=c, **g)
                   for (m, r, c), g in zip(runs, got)]
    inj = [x for x in res['runs'] if x['mode'] == 'injection' and x['ratio'] == 0.3
           and 'peak_mb' in x and x['peak_mb'] <= args.budget_mb]
    if inj:
        best = min(inj, key=lambda x: x['step_s'])
        res['best_injection_chunk_under_budget'] = best['chunk']
    return res


def collect_map(args) -> dict:
    """Section 1, accuracy side: gather ``gpu_map_comparison.sh``'s outputs
    (ETAD's MMEngine scalars and log, ``bmn_baseline.py``'s JSON and log)."""
    import re
    d = args.dir
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

    def log_stats(path):
        times, mem = [], []
        with open(path) as f:
            for line in f:
                m = re.search(r'Epoch\(train\).*?\btime: ([0-9.]+).*?memory: ([0-9]+)', line)
                if m:
                    times.append(float(m.group(1)))
                    mem.append(int(m.group(2)))
        return times, mem

    def log_span(path, start_pat, end_pat):
        stamps = {}
        with open(path) as f:
            for line in f:
                for key, pat in (('start', start_pat), ('end', end_pat)):
                    if key not in stamps and pat in line:
                        stamps[key] = datetime.datetime.strptime(line[:14], '%m/%d %H:%M:%S')
        return (stamps['end'] - stamps['start']).total_seconds() if len(stamps) == 2 else None

    bmn_times, bmn_mem = log_stats(osp.join(d, 'bmn.log'))
    res = dict(env=dict(json.load(open(args.env_from))['env']) if args.env_from else None,
               command='bash tools/analysis/gpu_map_comparison.sh',
               dataset='configs/etad/etad_1xb16-6e_synthetic-anet-full-feature.py '
                       '(1,000 training / '
                       '300 validation semi-synthetic videos, 400-d, top-2 classifier classes)',
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


SWEEP_CONFIG = 'configs/etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py'
STRATEGIES = ('RandomSampler', 'GridSampler', 'BlockSampler', 'FPSSampler', 'DPPSampler',
              'IoUBalancedSampler', 'ScaleBalancedSampler')


def _train_run(sampler: str, ratio: float, seed: int, work_root: str) -> dict:
    """One ``tools/train.py`` run of the sweep config; final validation metrics."""
    name = f'{sampler}_{ratio:g}_s{seed}'
    work = osp.join(work_root, name)
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), SWEEP_CONFIG, '--work-dir', work,
           '--cfg-options', f'model.roi_head.proposal_sampler.type={sampler}',
           f'model.roi_head.proposal_sampler.ratio={ratio}',
           f'randomness.seed={seed}']
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f'sweep run {name} failed:\n{out.stderr[-3000:]}')
    scalars = sorted(glob_(osp.join(work, '*', 'vis_data', 'scalars.json')))[-1]
    final = {}
    with open(scalars) as f:
        for line in f:
            rec = json.loads(line)
            if 'avg_mAP' in rec:
                final = rec
    return dict(sampler=sampler, ratio=ratio, seed=seed, wall_s=wall,
                **{k: v for k, v in final.items() if k.startswith(('mAP@', 'avg_mAP'))})


def glob_(pattern):
    from glob import glob
    return glob(pattern)


def bench_sweep(args) -> dict:
    """Sections 2 (DPS ratio -> mAP) and 3 (strategies x seeds at 6%): training runs
    of the sweep config; results are written after every run and a rerun skips the
    runs already in the output file."""
    out = args.out or osp.join(OUT_DIR, 'sweep_cpu.json')
    res = dict(env=environment('cpu'), command=' '.join(['python'] + sys.argv),
               config=SWEEP_CONFIG, runs=[])
    if osp.exists(out):
        with open(out) as f:
            res['runs'] = json.load(f).get('runs', [])
    plan = []
    for part in args.parts:
        if part == 'ratios':
            plan += [('RandomSampler', float(r), 0) for r in args.ratios]
        else:
            plan += [(s, 0.06, seed) for seed in range(args.seeds) for s in STRATEGIES]
    done = {(r['sampler'], r['ratio'], r['seed']) for r in res['runs']}
    for sampler, ratio, seed in plan:
        if (sampler, ratio, seed) in done:
            continue
        r = _train_run(sampler, ratio, seed, args.work_dir)
        print(json.dumps(r), file=sys.stderr, flush=True)
        res['runs'].append(r)
        done.add((sampler, ratio, seed))
        _write(res, 'sweep_cpu', out, quiet=True)
    return res


def bench_profile(args) -> dict:
    """Counted cost of one training step (tools/analysis/step_profile.py): ETAD at
    DPS 6% and 100%, ETAD 6% without grouping videos in the fused RoI layer, and
    stock BMN, in one process on the same machine."""
    import torch
    import etad_mmaction  # noqa: F401
    from mmaction.registry import MODELS
    from step_profile import profile_step
    ungrouped = etad_model()
    ungrouped['roi_head']['stage_head']['roi_group_elements'] = 1 << 62
    cases = [('etad_6pct', etad_model(), 128), ('etad_100pct', etad_model(ratio=1.0), 128),
             ('etad_6pct_ungrouped_roi', ungrouped, 128), ('bmn', bmn_model(), 100)]
    res = dict(env=environment('cpu'), command='python tools/analysis/benchmark.py profile',
               batch=args.batch, feat_dim=400)
    for name, cfg, t in cases:
        if name in args.skip:
            continue
        torch.manual_seed(0)
        model = MODELS.build(cfg)
        feats, samples = _fake_batch(cfg['type'], args.batch, t, 400, 'cpu')
        res[name] = profile_step(model, list(feats), samples)
        print(f'  {name}: {res[name]}', file=sys.stderr, flush=True)
    if 'bmn' in res:
        for key in ('ops', 'host_syncs', 'peak_tensor_mb', 'saved_mb'):
            res[f'etad_over_bmn_{key}'] = res['etad_6pct'][key] / max(res['bmn'][key], 1e-9)
    return res


def _write(res: dict, name: str, out=None, quiet=False) -> None:
    out = out or osp.join(OUT_DIR, f'{name}.json')
    from etad_mmaction.fileio import dump_json
    dump_json(res, out, indent=2)
    if not quiet:
        print(json.dumps(res, indent=2))


def main():
    sys.path.insert(0, ROOT)
    from etad_mmaction.engine.launcher import set_cpu_threads
    set_cpu_threads()  # the one thread policy (tools/train.py's), workers included
    if len(sys.argv) >= 3 and sys.argv[1] == '_worker':
        specs = json.loads(sys.argv[2])
        if len(specs) > 1:
            print(json.dumps(_run_many(specs)))
        else:
            print(json.dumps([run_worker(specs[0])]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('detector', help='ETAD vs BMN training step, memory, DPS 6%% vs 100%%')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--small-batch', type=int, default=4)
    p.add_argument('--out', default=None)
    p = sub.add_parser('dps', help='DPS ratio sweep (training cost) and DPS at inference')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--batch', type=int, default=4)
    p.add_argument('--ratios', nargs='+', default=['1.0', '0.5', '0.2', '0.1', '0.06', '0.03'])
    p.add_argument('--infer-ratios', nargs='+', default=['1.0', '0.2', '0.15', '0.1', '0.06'])
    p.add_argument('--out', default=None)
    p = sub.add_parser('egs', help='EGS memory and step time vs ratio, mode, chunk size')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--steps', type=int, default=2)
    p.add_argument('--snippets', type=int, default=32)
    p.add_argument('--frames', type=int, default=4)
    p.add_argument('--resolution', type=int, default=64)
    p.add_argument('--depth', type=int, default=50, help='ResNetTSM depth')
    p.add_argument('--backbone', default='tsm', choices=['tsm', 'r2plus1d'],
                   help="'r2plus1d': the R(2+1)D-34 encoder of the end-to-end configs")
    p.add_argument('--name', default=None, help='output name (default egs_<device>)')
    p.add_argument('--ratios', nargs='+', default=['0.1', '0.3', '1.0'])
    p.add_argument('--chunk', type=int, default=4)
    p.add_argument('--chunks', type=int, nargs='+', default=[1, 16])
    p.add_argument('--budget-mb', type=float, default=2560.0,
                   help='memory budget for choosing the injection chunk size')
    p.add_argument('--out', default=None)
    p = sub.add_parser('sweep', help='mAP of DPS ratios and of sampling strategies x seeds')
    p.add_argument('--parts', nargs='+', default=['strategies', 'ratios'],
                   choices=['ratios', 'strategies'])
    p.add_argument('--ratios', nargs='+', default=['1.0', '0.5', '0.2', '0.1', '0.06', '0.03'])
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'sweep'))
    p.add_argument('--out', default=None)
    p = sub.add_parser('collect-map', help='gather gpu_map_comparison.sh outputs into JSON')
    p.add_argument('dir')
    p.add_argument('--env-from', default=None,
                   help='a JSON of the same machine whose "env" to record (e.g. detector_cuda)')
    p.add_argument('--name', default='map_comparison_cuda')
    p = sub.add_parser('profile', help='counted ops, host syncs and tensor memory of one '
                                       'training step: ETAD vs BMN (CPU)')
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--skip', nargs='*', default=[], help='cases to leave out (e.g. bmn)')
    p.add_argument('--out', default=None)
    sub.add_parser('report', help='regenerate docs/benchmarks.md from docs/benchmarks/*.json')
    args = parser.parse_args()
    if args.cmd == 'detector':
        _write(bench_detector(args), f'detector_{args.device}', args.out)
    elif args.cmd == 'dps':
        _write(bench_dps(args), f'dps_{args.device}', args.out)
    elif args.cmd == 'egs':
        _write(bench_egs(args), args.name or f'egs_{args.device}', args.out)
    elif args.cmd == 'sweep':
        _write(bench_sweep(args), 'sweep_cpu', args.out)
    elif args.cmd == 'collect-map':
        _write(collect_map(args), args.name)
    elif args.cmd == 'profile':
        _write(bench_profile(args), 'profile_cpu', args.out)
    elif args.cmd == 'report':
        from benchmark_report import write_report  # noqa: E402 (sibling module)
        write_report(OUT_DIR, osp.join(ROOT, 'docs', 'benchmarks.md'))


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    main()
