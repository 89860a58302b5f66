"""A full ActivityNet-size training epoch through the stock Runner with a shipped
config, and the dataloader's own throughput beside it.

    python tools/analysis/epoch_benchmark.py configs/etad/etad_1xb16-6e_anet-tsp-feature.py \
        --data-root /tmp/anet_size --videos 9649 [--compile MODE] \
        [--train-videos N] [--loader-videos N] --out docs/benchmarks/epoch_cuda.json

``--data-root`` gets (once) ``--videos`` training videos of 512-d random features at
TSP-like lengths: durations log-normal around 100 s (clipped to 5-755 s, as
ActivityNet-1.3), 1.875 features per second (TSP: 16-frame clips, stride 16 at
30 fps; about 220 per video, 4.3 GB for 9,649 videos), 1-3 actions each, in
ActivityNet's json layout. The config is used as shipped, except its data root,
no validation and no checkpoints. Reported: loader videos/s (``--loader-videos``
through the config's train dataloader, its workers included), training videos/s
after the first iteration (which compiles when ``--compile`` is given), the
epoch's wall time and the projection of the config's ``max_epochs``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import time

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import etad_mmaction  # noqa: F401
from etad_mmaction.engine import apply_compile

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark import environment  # noqa: E402 (sibling script)

ANN = 'annotations/activity_net.v1-3.min.json'
FEATURES = 'features/tsp'


def make_data(root: str, videos: int, dim: int = 512, seed: int = 0) -> dict:
    """Write (once) the random ActivityNet-size dataset; ``meta.json`` last."""
    meta_path = osp.join(root, 'meta.json')
    want = dict(videos=videos, dim=dim, seed=seed, features_per_second=1.875)
    if osp.isfile(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get('params') == want:
            return meta
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, FEATURES), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    durations = np.clip(rng.lognormal(np.log(100.0), 0.6, videos), 5.0, 755.0)
    database, lengths = {}, []
    t0 = time.perf_counter()
    for i, dur in enumerate(durations):
        n = int(rng.integers(1, 4))
        edges = np.sort(rng.uniform(0, dur, 2 * n)).reshape(n, 2)
        edges[:, 1] = np.maximum(edges[:, 1], edges[:, 0] + 1.0).clip(max=dur)
        database[f'{i:011d}'] = dict(subset='training', duration=float(dur), annotations=[
            dict(segment=[float(s), float(e)], label=f'action{j % 5}')
            for j, (s, e) in enumerate(edges)])
        length = max(2, int(round(dur * want['features_per_second'])))
        lengths.append(length)
        np.save(osp.join(root, FEATURES, f'v_{i:011d}.npy'),
                rng.standard_normal((length, dim), dtype=np.float32))
    with open(osp.join(root, ANN), 'w') as f:
        json.dump(dict(version='synthetic', database=database), f)
    meta = dict(params=want, mean_length=float(np.mean(lengths)),
                gigabytes=float(np.sum(lengths)) * dim * 4 / 1e9,
                write_s=time.perf_counter() - t0)
    from etad_mmaction.fileio import dump_json
    dump_json(meta, meta_path)
    return meta


class IterClock(Hook):
    """Wall time at the end of every training iteration."""

    priority = 'VERY_LOW'

    def __init__(self):
        self.stamps = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.stamps.append(time.perf_counter())


def configure(cfg, root: str, work_dir: str):
    ds = cfg.train_dataloader.dataset
    ds.data_root, ds.ann_file, ds.subset = root, ANN, 'training'
    ds.data_prefix = dict(feature=FEATURES)
    ds.pop('classifier_file', None)
    ds.pop('exclude_videos', None)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.train_cfg.pop('val_interval', None)
    cfg.train_cfg.pop('val_begin', None)
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


def loader_throughput(cfg, videos: int) -> dict:
    loader = Runner.build_dataloader(cfg.train_dataloader)
    seen, t0, first = 0, time.perf_counter(), None
    for batch in loader:
        seen += len(batch['data_samples'])
        first = first or time.perf_counter()
        if seen >= videos:
            break
    t1 = time.perf_counter()
    return dict(videos=seen, workers=cfg.train_dataloader.num_workers,
                batch_size=cfg.train_dataloader.batch_size, seconds=t1 - t0,
                videos_per_s=seen / (t1 - t0), first_batch_s=first - t0)


def train_epoch(cfg, compile_mode, train_videos: int = 0, all_videos: int = 0) -> dict:
    """One epoch (of the first ``train_videos`` videos when given); the projection
    of the config's epochs is for ``all_videos``."""
    epochs = cfg.train_cfg.max_epochs
    cfg.train_cfg.max_epochs = 1
    if train_videos:
        cfg.train_dataloader.dataset.indices = train_videos
    apply_compile(cfg, compile_mode)
    clock = IterClock()
    runner = Runner.from_cfg(cfg)
    runner.register_hook(clock)
    t0 = time.perf_counter()
    runner.train()
    wall = time.perf_counter() - t0
    iters, batch = len(clock.stamps), cfg.train_dataloader.batch_size
    steady = (clock.stamps[-1] - clock.stamps[0]) / max(iters - 1, 1)
    full_iters = (all_videos or iters * batch) // batch          # drop_last
    return dict(iterations=iters, videos=iters * batch, epoch_s=wall,
                first_iter_s=clock.stamps[0] - t0, steady_iter_s=steady,
                videos_per_s=batch / steady, config_epochs=epochs,
                projected_videos=full_iters * batch,
                projected_config_epochs_s=(clock.stamps[0] - t0) + steady * (
                    full_iters * epochs - 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--data-root', default=osp.join(tempfile.gettempdir(), 'anet_size'))
    parser.add_argument('--videos', type=int, default=9649)
    parser.add_argument('--train-videos', type=int, default=0,
                        help='train on the first N videos only (0: all)')
    parser.add_argument('--loader-videos', type=int, default=2000)
    parser.add_argument('--compile', default=None, metavar='MODE')
    parser.add_argument('--skip-train', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    parser.add_argument('--out', default=None)
    args = parser.parse_args()
    from etad_mmaction.engine.launcher import set_cpu_threads
    set_cpu_threads()  # the one thread policy (tools/train.py's)
    meta = make_data(args.data_root, args.videos)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    with tempfile.TemporaryDirectory() as work:
        cfg = configure(cfg, args.data_root, work)
        import torch
        res = dict(env=environment('cuda' if torch.cuda.is_available() else 'cpu'),
                   command=' '.join(['python'] + sys.argv), config=args.config,
                   data=meta, compile=args.compile)
        if args.loader_videos:
            res['loader'] = loader_throughput(cfg, args.loader_videos)
            print('loader:', json.dumps(res['loader']), flush=True)
        if not args.skip_train:
            res['train'] = train_epoch(cfg, args.compile, args.train_videos, args.videos)
            print('train:', json.dumps(res['train']), flush=True)
    if args.out:
        from etad_mmaction.fileio import dump_json
        dump_json(res, args.out, indent=2)


if __name__ == '__main__':
    main()
