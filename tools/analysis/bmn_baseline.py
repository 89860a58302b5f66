"""MMAction2's BMN, trained and tested through its *stock* config on the same
semi-synthetic videos as an ETAD config, evaluated for detection mAP with the same
classifier scores and the same evaluation code as ETAD (benchmarks, section 1).

    python tools/analysis/bmn_baseline.py \
        configs/etad/etad_1xb16-6e_synthetic-anet-full-feature.py \
        [--work-dir work_dirs/bmn_baseline] [--batch 16] [--epochs 9] [--out result.json]

The ETAD config names the dataset (``data_root`` + ``synthetic`` parameters,
generated if missing, BMN's csv features included) and the class assignment
(``val_evaluator.top_k_classes``). BMN keeps everything else of
``localization/bmn/bmn_2xb8-400x100-9e_activitynet-feature.py``: T = 100, Adam
lr 1e-3, 9 epochs, lr x0.1 after 7; the stock recipe's 2 GPUs x 8 videos is one
process x ``--batch`` 16 here. Its proposals (soft-NMS'ed by BMN, top 100) are
repeated for the video's top-k classes with ``score x class score`` exactly as
ETAD's ``TADMetric`` does.
"""
import argparse
import json
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def numpy_trapz_for_mmaction() -> None:
    """NumPy 2.4 removed ``np.trapz`` (``np.trapezoid`` since 2.0), which MMAction2
    1.2.0's AR@AN (``ANetMetric`` of the stock BMN config) still calls: alias it
    for this tool's run. Can go with an MMAction2 that calls ``trapezoid``."""
    import numpy as np
    if not hasattr(np, 'trapz') and hasattr(np, 'trapezoid'):
        np.trapz = np.trapezoid


def stock_bmn_config() -> str:
    import mmaction
    path = osp.join(osp.dirname(mmaction.__file__), '.mim', 'configs', 'localization', 'bmn',
                    'bmn_2xb8-400x100-9e_activitynet-feature.py')
    if not osp.isfile(path):
        raise FileNotFoundError(f'stock BMN config not found at {path} (mmaction2 install)')
    return path


def build_bmn_cfg(etad_cfg, work_dir: str, batch: int, epochs: int, workers: int):
    from mmengine.config import Config
    ds = etad_cfg.train_dataloader.dataset
    root = osp.abspath(ds.data_root)
    mdir = osp.join(root, 'mmaction2')
    cfg = Config.fromfile(stock_bmn_config())
    feats = osp.join(mdir, 'csv_mean_100') + '/'
    for split, ann in (('train', 'anet_anno_train.json'), ('val', 'anet_anno_val.json'),
                       ('test', 'anet_anno_val.json')):
        loader = cfg[f'{split}_dataloader']
        loader.dataset.ann_file = osp.join(mdir, ann)
        loader.dataset.data_prefix = dict(video=feats)
        loader.num_workers = workers
        loader.persistent_workers = workers > 0
    cfg.train_dataloader.batch_size = batch
    cfg.train_cfg.max_epochs = epochs
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None   # tested once, after training
    cfg.train_cfg.pop('val_begin', None)
    cfg.train_cfg.pop('val_interval', None)
    cfg.param_scheduler[0].end = epochs
    cfg.work_dir = work_dir
    out = osp.join(work_dir, 'bmn_proposals.json')
    cfg.test_evaluator = dict(type='ANetMetric', metric_type='AR@AN',
                              dump_config=dict(out=out, output_format='json'))
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=epochs)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=20)
    cfg.randomness = dict(seed=0)
    return cfg, out


def detection_map(etad_cfg, proposals_json: str) -> dict:
    """BMN proposals -> detections with the dataset's classifier scores -> mAP."""
    import numpy as np
    from etad_mmaction.evaluation.functional import (assign_classes, load_ground_truth,
                                                     map_summary, mean_average_precision)
    ds = etad_cfg.val_dataloader.dataset
    root = osp.abspath(ds.data_root)
    top_k = etad_cfg.val_evaluator.get('top_k_classes', 2)
    with open(osp.join(root, ds.classifier_file)) as f:
        clf = json.load(f)
    with open(proposals_json) as f:
        props = json.load(f)['results']
    gt = load_ground_truth(osp.join(root, ds.ann_file), subset='validation')
    preds = {}
    for name, items in props.items():
        vid = name[2:] if name.startswith('v_') and name not in clf['results'] else name
        if vid not in clf['results']:
            raise KeyError(f'{proposals_json}: video {name!r} has no classifier scores')
        segs = np.array([p['segment'] for p in items], dtype=np.float64).reshape(-1, 2)
        scores = np.array([p['score'] for p in items], dtype=np.float64)
        preds[vid] = assign_classes(segs, scores, clf['results'][vid], clf['class'], top_k)
    missing = sorted(set(gt) - set(preds))
    if missing:
        raise KeyError(f'{proposals_json}: no proposals for {len(missing)} validation videos, '
                       f'e.g. {missing[:3]}')
    res = mean_average_precision(gt, preds, protocol='anet')
    return map_summary(res)


def main():
    numpy_trapz_for_mmaction()
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('etad_config')
    parser.add_argument('--work-dir', default='work_dirs/bmn_baseline')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--epochs', type=int, default=9)
    parser.add_argument('--workers', type=int, default=4)
    parser.add_argument('--out', default=None, help='JSON file for the results')
    args = parser.parse_args()
    import etad_mmaction  # noqa: F401  (mmaction2 workarounds)
    from etad_mmaction.engine.launcher import set_cpu_threads
    set_cpu_threads()  # the one thread policy (tools/train.py's)
    from mmengine.config import Config
    from mmengine.runner import Runner
    from etad_mmaction.datasets.synthetic import ensure_synthetic_dataset
    etad_cfg = Config.fromfile(args.etad_config)
    ds = etad_cfg.train_dataloader.dataset
    if not ds.get('synthetic'):
        raise ValueError(f'{args.etad_config}: train_dataloader.dataset.synthetic is not set; '
                         'this tool compares on the generated semi-synthetic datasets')
    ensure_synthetic_dataset(ds.data_root, **ds.synthetic)
    cfg, proposals = build_bmn_cfg(etad_cfg, osp.abspath(args.work_dir), args.batch,
                                   args.epochs, args.workers)
    runner = Runner.from_cfg(cfg)
    t0 = time.perf_counter()
    runner.train()
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    metrics = runner.test()
    test_s = time.perf_counter() - t0
    summary = detection_map(etad_cfg, proposals)
    from etad_mmaction.engine.launcher import thread_record
    result = dict(etad_config=args.etad_config, batch=args.batch, epochs=args.epochs,
                  threads=thread_record(), bmn_train_s=train_s, bmn_test_s=test_s,
                  bmn_ar_an={k: float(v) for k, v in metrics.items()},
                  **{f'bmn_{k}': v for k, v in summary.items()})
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        from etad_mmaction.fileio import write_text
        write_text(text, args.out)


if __name__ == '__main__':
    sys.path.insert(0, ROOT)
    main()
