"""Detect actions in one video with an end-to-end ETAD config + checkpoint.

    python tools/demo.py VIDEO CONFIG CHECKPOINT [--out-json dets.json] [--out-plot tl.png]
        [--scores SCORES.json | --recognizer-config CFG --recognizer-checkpoint CKPT]
        [--class-names classes.txt] [--label-file gt.json] [--top-k 10] [--color-by score|iou]
        [--device cpu]

Labels: ``--scores`` (a JSON list of class scores, or {"scores": [...], "classes": [...]})
or an MMAction2 recognizer run on the same video; without either the output is
class-agnostic. ``--label-file``: an ActivityNet-style json whose entry for this video
(by file name) is drawn as ground truth.
"""
import argparse
import json
import os
import os.path as osp
import sys


def parse_args():
    p = argparse.ArgumentParser(description='ETAD demo on one video')
    p.add_argument('video')
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
    p.add_argument('--device', default='cpu')
    return p.parse_args()


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


def main():
    args = parse_args()
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
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
    model = init_detector(args.config, args.checkpoint, device=args.device)
    result = inference_detector(model, args.video, classifier=classifier,
                                class_names=args.class_names, progress=True)
    if result['class_agnostic']:
        print('no classifier given: detections are class-agnostic', file=sys.stderr)
    for d in result['detections'][:args.top_k]:
        print(f"{d['segment'][0]:8.2f} {d['segment'][1]:8.2f}  {d['score']:.4f}  {d['label']}")
    if args.out_json:
        tmp = args.out_json + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(result, f, indent=2)
        os.replace(tmp, args.out_json)
    if args.out_plot:
        from etad_mmaction.visualization import plot_timeline
        plot_timeline(result, args.out_plot, ground_truth=gt, top_k=args.top_k,
                      color_by=args.color_by)


if __name__ == '__main__':
    main()
