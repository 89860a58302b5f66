"""Detect actions in one video with an ETAD config + checkpoint.

    python tools/demo.py VIDEO CONFIG CHECKPOINT [--out-json dets.json] [--out-plot tl.png]
        [--scores SCORES.json | --recognizer-config CFG --recognizer-checkpoint CKPT]
        [--class-names classes.txt] [--label-file gt.json] [--top-k 10] [--color-by score|iou]
        [--extractor-config CFG --extractor-checkpoint CKPT [--snippet-stride 16]
         [--clip-len 8] [--frame-interval 1] [--short-side 256] [--crop 224] [--chunk 32]]
        [--device cpu]

With an end-to-end config (``ETADEndToEnd``) the model reads the video itself. With a
feature config (``ETAD``) the video's snippet features are extracted first with the
backbone of the MMAction2 recognizer given by ``--extractor-config`` and
``--extractor-checkpoint``, exactly as ``tools/data/extract_features.py`` does (same
options), so use the recognizer and options the model was trained on features of.

Labels: ``--scores`` (a JSON list of class scores, or {"scores": [...], "classes": [...]})
or an MMAction2 recognizer run on the same video; without either the output is
class-agnostic. ``--label-file``: an ActivityNet-style json whose entry for this video
(by file name) is drawn as ground truth.
"""
import argparse
import json
import os.path as osp
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='ETAD demo on one video')
    p.add_argument('video', help='a video, or a feature file (.npy/.csv/.pt) with --duration')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--out-json', default=None)
    p.add_argument('--out-plot', default=None)
    p.add_argument('--scores', default=None)
    p.add_argument('--recognizer-config', default=None)
    p.add_argument('--recognizer-checkpoint', default=None)
    p.add_argument('--class-names', default=None)
    p.add_argument('--label-file', default=None)
    p.add_argument('--top-k', type=int, default=10)
    p.add_argument('--color-by', default='score', choices=['score', 'iou'])
    p.add_argument('--extractor-config', default=None,
                   help='MMAction2 recognizer config whose backbone extracts the features '
                   '(feature configs only)')
    p.add_argument('--extractor-checkpoint', default=None)
    p.add_argument('--snippet-stride', type=int, default=16, help='frames per snippet step')
    p.add_argument('--clip-len', type=int, default=8, help='frames per snippet')
    p.add_argument('--frame-interval', type=int, default=1)
    p.add_argument('--short-side', type=int, default=256)
    p.add_argument('--crop', type=int, default=224)
    p.add_argument('--chunk', type=int, default=32, help='snippets per encoder forward')
    p.add_argument('--device', default='cpu')
    p.add_argument('--duration', type=float, default=None,
                   help='seconds of the video a feature file (.npy/.csv/.pt) was extracted '
                        'from (required for feature files)')
    return p.parse_args(argv)


def ground_truth_of(label_file: str, video: str):
    with open(label_file) as f:
        db = json.load(f)
    db = db.get('database', db)
    stem = osp.splitext(osp.basename(video))[0]
    for key in (stem, stem[2:] if stem.startswith('v_') else 'v_' + stem):
        if key in db:
            return [(a['segment'][0], a['segment'][1], a.get('label', 'action'))
                    for a in db[key].get('annotations', [])]
    raise KeyError(f'{label_file}: no entry for video {stem!r}')


FEATURE_EXTS = ('.npy', '.csv', '.pt')


def detect_with_features(model, args, classifier):
    """Extract the video's features as tools/data/extract_features.py does, then run the
    feature model on them."""
    import importlib.util
    import tempfile
    from etad_mmaction.apis import inference_detector
    path = osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'extract_features.py')
    spec = importlib.util.spec_from_file_location('etad_extract_features', path)
    extract = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extract)
    encoder, mean, std = extract.build_encoder(args.extractor_config,
                                               args.extractor_checkpoint, args.device)
    feats, info = extract.extract_one(args.video, encoder, mean, std, args, args.device)
    print(f'features: {feats.shape[0]} snippets x {feats.shape[1]} channels '
          f'({info["duration"]:.2f} s)', file=sys.stderr)
    import numpy as np
    import torch
    if isinstance(classifier, torch.nn.Module):  # a recognizer labels the video itself
        from etad_mmaction.apis.inference import _classifier_scores
        scores, names = _classifier_scores(classifier, args.video, args.class_names)
        classifier = dict(scores=scores.tolist(), classes=names)
    stem = osp.splitext(osp.basename(args.video))[0]
    with tempfile.TemporaryDirectory() as tmp:
        npy = osp.join(tmp, f'{stem}.npy')
        np.save(npy, feats)
        result = inference_detector(model, npy, classifier=classifier,
                                    class_names=args.class_names, duration=info['duration'])
    result['video'] = osp.abspath(args.video)
    return result


def main():
    args = parse_args()
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    from etad_mmaction.engine.launcher import set_cpu_threads
    set_cpu_threads()  # the one thread policy (tools/train.py's)
    from etad_mmaction.apis import inference_detector, init_detector
    classifier = None
    if args.scores:
        with open(args.scores) as f:
            classifier = json.load(f)
    elif args.recognizer_config:
        from mmaction.apis import init_recognizer
        classifier = init_recognizer(args.recognizer_config, args.recognizer_checkpoint,
                                     device=args.device)
    gt = ground_truth_of(args.label_file, args.video) if args.label_file else None
    is_features = osp.splitext(args.video)[1].lower() in FEATURE_EXTS
    if is_features and args.duration is None:
        print(f'{args.video} is a feature file: give --duration (seconds of its video)',
              file=sys.stderr)
        return 2
    model = init_detector(args.config, args.checkpoint, device=args.device)
    if is_features:
        if hasattr(model, 'encoder'):
            print(f'{args.config} is an end-to-end config: it reads videos, not the '
                  f'feature file {args.video}', file=sys.stderr)
            return 2
        result = inference_detector(model, args.video, classifier=classifier,
                                    class_names=args.class_names, duration=args.duration)
    elif hasattr(model, 'encoder'):
        result = inference_detector(model, args.video, classifier=classifier,
                                    class_names=args.class_names, progress=True)
    elif args.extractor_config is None:
        print(f'{args.config} is a feature config: give --extractor-config and '
              '--extractor-checkpoint (the MMAction2 recognizer whose features it was '
              'trained on) to extract the features of the video, or use an end-to-end '
              'config', file=sys.stderr)
        return 2
    else:
        result = detect_with_features(model, args, classifier)
    if result['class_agnostic']:
        print('no classifier given: detections are class-agnostic', file=sys.stderr)
    for d in result['detections'][:args.top_k]:
        print(f"{d['segment'][0]:8.2f} {d['segment'][1]:8.2f}  {d['score']:.4f}  {d['label']}")
    if args.out_json:
        from etad_mmaction.fileio import dump_json
        dump_json(result, args.out_json, indent=2)
    if args.out_plot:
        from etad_mmaction.visualization import plot_timeline
        plot_timeline(result, args.out_plot, ground_truth=gt, top_k=args.top_k,
                      color_by=args.color_by)
    return 0


if __name__ == '__main__':
    sys.exit(main())
