"""Post-process raw proposals without inference: candidate cap, NMS, seconds,
window merging, class assignment and evaluation (what the authors' ``post.py``
does), from the folder ``tools/test.py CONFIG CKPT --dump-raw DIR`` wrote.

    python tools/analysis/post_process.py CONFIG DIR [--workers 8] [--out sub.json] \
        [--cfg-options model.test_cfg.nms.top_k=200 ...]
    python tools/analysis/post_process.py CONFIG DIR --workers 8 \
        --grid alpha=0.3,0.4,0.5 top_k=100,200 [--grid-out grid.json]

NMS settings are ``model.test_cfg.nms`` of CONFIG (``model.detector.test_cfg``
for end-to-end configs) after ``--cfg-options``; the evaluators are CONFIG's
``test_evaluator`` (``TADMetric`` entries). Without ``--grid`` the numbers and
the submission equal ``tools/test.py`` on the same checkpoint. ``--grid KEY=V1,V2``
(keys of the NMS dict, e.g. ``type``, ``alpha``, ``sigma``, ``iou_threshold``,
``top_k``, ``pre_top_k``) evaluates every combination and prints one mAP table;
the last line of stdout is one JSON object (metrics, or the grid rows).
"""
import argparse
import ast
import itertools
import json
import os
import os.path as osp
import sys

import etad_mmaction  # noqa: F401  (registries)
from etad_mmaction.engine.raw_outputs import RawPostProcessor, evaluate_samples
from etad_mmaction.fileio import dump_json
from etad_mmaction.models.localizers.etad import resolved_test_cfg
from mmengine.config import Config, DictAction

from mmaction.registry import METRICS

_LEGACY = ('peak_ratio', 'proposal_chunk', 'selected_only')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Post-process raw ETAD proposals')
    parser.add_argument('config', help='the config the raw files were made with')
    parser.add_argument('raw_dir', help='folder of tools/test.py --dump-raw')
    parser.add_argument('--workers', type=int, default=1, help='processes (default 1)')
    parser.add_argument('--out', help='submission json of the (non-grid) detections')
    parser.add_argument('--grid', nargs='+', metavar='KEY=V1,V2',
                        help='NMS settings to try (cartesian product)')
    parser.add_argument('--grid-out', help='write the grid rows to this json')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f'--workers must be >= 1, got {args.workers}')
    if args.out and args.grid:
        parser.error('--out writes one setting\'s detections; not with --grid')
    return args


def nms_from_config(cfg: Config) -> dict:
    """The detector's resolved ``test_cfg.nms`` (defaults of ``ETAD``)."""
    model = cfg.model
    det = model.get('detector') or model
    test_cfg = {k: v for k, v in dict(det.get('test_cfg') or {}).items() if k not in _LEGACY}
    return dict(resolved_test_cfg(test_cfg)['nms'])


def parse_grid(items) -> list:
    """``['alpha=0.3,0.4', 'top_k=100']`` -> ``[('alpha', [0.3, 0.4]), ('top_k', [100])]``."""
    axes = []
    for item in items:
        key, sep, values = item.partition('=')
        if not sep or not key or not values:
            raise SystemExit(f'post_process.py: error: --grid {item!r}: expected KEY=V1,V2,...')
        parsed = []
        for v in values.split(','):
            try:
                parsed.append(ast.literal_eval(v))
            except (ValueError, SyntaxError):
                parsed.append(v)       # a bare word, e.g. type=nms
        axes.append((key, parsed))
    return axes


def build_metrics(cfg: Config, out=None, print_table=True) -> list:
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, (list, tuple)) \
        else [cfg.test_evaluator]
    metrics = []
    for ev in evaluators:
        ev = dict(ev)
        if ev.get('type') not in ('TADMetric', 'mmaction.TADMetric'):
            continue
        ev.update(print_table=print_table)
        if out:
            ev['dump_file'] = out
        metrics.append(METRICS.build(ev))
    if not metrics:
        raise SystemExit('post_process.py: error: the config\'s test_evaluator has no '
                         'TADMetric')
    return metrics


def format_grid(keys, rows) -> str:
    head = list(keys) + ['mAP@0.50', 'mAP@0.75', 'mAP@0.95', 'avg_mAP']
    best = max(range(len(rows)), key=lambda i: rows[i]['avg_mAP'])
    cells = [head] + [[str(r['nms'].get(k)) for k in keys]
                      + [f'{100 * r.get(m, float("nan")):.2f}' for m in head[len(keys):]]
                      + (['  <- best'] if i == best else []) for i, r in enumerate(rows)]
    widths = [max(len(c[i]) for c in cells if i < len(c)) for i in range(len(head))]
    return '\n'.join('  '.join(c.rjust(w) for c, w in zip(r, widths)) + ''.join(r[len(head):])
                     for r in cells)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    base_nms = nms_from_config(cfg)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with RawPostProcessor(args.raw_dir, args.workers) as post:
        if not args.grid:
            samples = post(base_nms)
            out = {}
            for metric in build_metrics(cfg, args.out):
                out.update(evaluate_samples(metric, samples, post.dataset_meta))
            print(f'post-processed {len(post.files)} samples of {args.raw_dir} with nms '
                  f'{base_nms}', file=sys.stderr)
            print(json.dumps(out))
            return out
        axes = parse_grid(args.grid)
        keys = [k for k, _ in axes]
        metric = next((m for m in build_metrics(cfg, print_table=False)
                       if m.metric_type == 'detection'), None)
        if metric is None:
            raise SystemExit('post_process.py: error: --grid needs a detection TADMetric')
        rows = []
        for values in itertools.product(*[v for _, v in axes]):
            nms = grid_nms(base_nms, dict(zip(keys, values)))
            try:
                resolved_test_cfg(dict(nms=nms))           # unknown keys: a clear error
            except (KeyError, ValueError) as err:
                raise SystemExit(f'post_process.py: error: --grid row {nms}: {err}')
            res = evaluate_samples(metric, post(nms), post.dataset_meta)
            rows.append(dict(nms=nms, **{k: float(v) for k, v in res.items()}))
        print(f'mAP (%) of {len(rows)} NMS settings over {len(post.files)} samples '
              f'(base: {base_nms})\n' + format_grid(keys, rows))
        if args.grid_out:
            dump_json(rows, args.grid_out, indent=1)
        print(json.dumps(rows))
        return rows


def grid_nms(base: dict, overrides: dict) -> dict:
    """One grid row's NMS dict: ``base`` with ``overrides``; a row that changes the
    NMS ``type`` keeps only the base keys that type takes (the rest of its settings
    are that type's defaults unless the grid sets them)."""
    from etad_mmaction.models.localizers.etad import _NMS_KEYS
    kind = overrides.get('type', base.get('type', 'soft_nms'))
    if kind != base.get('type', 'soft_nms') and kind in _NMS_KEYS:
        shared = _NMS_KEYS[kind] | {'pre_top_k', 'clip_to_video'}
        base = {k: v for k, v in base.items() if k in shared}
    return dict(base, **overrides)


if __name__ == '__main__':
    main()
