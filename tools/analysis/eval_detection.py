"""Evaluate an ActivityNet-format detection file; prints one JSON object.

    python tools/analysis/eval_detection.py GROUND_TRUTH.json PREDICTIONS.json \
        [--subset validation] [--protocol anet|thumos] [--tiou 0.5 0.75] \
        [--blocked blocked.json] [--video-info video_info_new.csv] [--per-class]

Ground truth: official ActivityNet json, BSN/MMAction2 ``anet_anno`` json or
THUMOS/ActionFormer json (auto-detected). Defaults: ``--protocol thumos`` and
``--subset Test`` for THUMOS files, ``anet`` / ``validation`` otherwise.
Output values are fractions in [0, 1]; ``num_classes`` counts the classes with
ground truth in the subset (the mean runs over those). NaN/Inf scores or
segments, a score that is not a number, a segment that is not 2 numbers, ground
truth that starts after its video ends, a file without any prediction and tIoU
thresholds outside (0, 1] are errors;
predictions of videos outside the subset are false positives (warned on stderr).
"""
import argparse
import importlib.util
import json
import os.path as osp
import sys

FUNCTIONAL = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'etad_mmaction',
                      'evaluation', 'functional')


def _functional():
    """The numpy-only ``etad_mmaction.evaluation.functional`` package.

    Loaded on its own from this checkout (its modules only import each other),
    so the tool needs neither torch nor mmaction; falls back to the installed
    package.
    """
    init = osp.join(FUNCTIONAL, '__init__.py')
    if osp.isfile(init):
        name = '_etad_eval_functional'
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[osp.dirname(init)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    from etad_mmaction.evaluation import functional
    return functional


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('ground_truth')
    p.add_argument('predictions')
    p.add_argument('--subset', default=None,
                   help='subset name as in the ground truth (default: validation, '
                        'Test for THUMOS files)')
    p.add_argument('--protocol', choices=['anet', 'thumos'], default=None,
                   help='tIoU thresholds (default: thumos for THUMOS files, else anet)')
    p.add_argument('--tiou', type=float, nargs='+', default=None,
                   help='custom tIoU thresholds (override --protocol)')
    p.add_argument('--blocked', default=None, help='json list of video ids to exclude')
    p.add_argument('--video-info', default=None,
                   help='video,subset csv for anet_anno ground truth (default: '
                        'video_info_new.csv next to it, if present)')
    p.add_argument('--per-class', action='store_true', help='add per-class AP')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    F = _functional()
    fmt = F.detect_ground_truth_format(F.load_json(args.ground_truth), args.ground_truth)
    protocol = args.protocol or ('thumos' if fmt == 'thumos' else 'anet')
    subset = args.subset or ('Test' if fmt == 'thumos' else 'validation')
    blocked = F.load_blocked(args.blocked)
    gt = F.load_ground_truth(args.ground_truth, subset=subset,
                             video_info_file=args.video_info, blocked=blocked)
    preds = F.load_predictions(args.predictions)
    if not any(preds.values()):
        raise ValueError(f'{args.predictions}: "results" holds no prediction '
                         f'({len(preds)} videos, 0 detections): every AP would be 0.0; is it '
                         'the right file?')
    res = F.mean_average_precision(gt, preds, tiou_thresholds=args.tiou,
                                   protocol=protocol, blocked=blocked, warn=False)
    if res['num_ignored']:
        print(f'eval_detection: warning: {res["num_ignored"]} predictions with labels '
              'absent from the ground truth are ignored', file=sys.stderr)
    if res['unknown_videos']:
        print(f'eval_detection: warning: {res["num_unknown_video_predictions"]} predictions '
              f'of {len(res["unknown_videos"])} video(s) not in subset {subset!r} of the '
              f'ground truth count as false positives, e.g. {res["unknown_videos"][:5]}',
              file=sys.stderr)
    out = dict(F.map_summary(res))
    out.update(tiou_thresholds=[round(float(t), 6) for t in res['tiou_thresholds']],
               num_classes=len(res['classes']), subset=subset, protocol=protocol,
               ground_truth_format=fmt, num_ignored_predictions=res['num_ignored'],
               num_unknown_video_predictions=res['num_unknown_video_predictions'])
    if args.per_class:
        out['per_class'] = {c: [float(x) for x in res['ap'][:, i]]
                            for i, c in enumerate(res['classes'])}
    print(json.dumps(out))


if __name__ == '__main__':
    try:
        main()
    except (ValueError, OSError) as e:
        sys.exit(f'eval_detection: error: {e}')
