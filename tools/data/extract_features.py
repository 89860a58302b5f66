"""Per-snippet features of videos with an MMAction2 recognizer (the feature-based setting).

    python tools/data/extract_features.py RECOGNIZER_CONFIG CHECKPOINT VIDEOS OUT_DIR \
        [--snippet-stride 16] [--clip-len 8] [--frame-interval 1] [--short-side 256] \
        [--crop 224] [--chunk 32] [--device cuda] [--launcher none|pytorch]

``VIDEOS``: a folder (every video file in it) or a text file with one path per line.
Each video gives ``OUT_DIR/<video stem>.npy``, float32 ``[M, D]`` (one row per
snippet, the ``'TC'`` layout the feature datasets read), with
``M = max(1, round(frames / snippet_stride))`` snippets evenly spaced over the video
(``SampleSnippets``), ``clip_len`` frames each, resized to ``short_side`` and centre
cropped to ``crop``, normalised with the recognizer's data preprocessor, and
encoded by its backbone (``SnippetEncoder``: global average pooling over time and
space; TSM needs ``num_segments == clip_len``).

Beside the features, ``OUT_DIR/meta/<video stem>.json`` records what a feature
dataset needs to place the rows in time: ``frames``, ``fps``, ``duration``,
``num_snippets``, ``snippet_stride``, ``clip_len``, ``frame_interval`` and
``snippet_seconds`` (= duration / num_snippets). The THUMOS feature dataset assumes
``snippet_stride / fps`` seconds per row (``fps`` from the annotation file, 30 if
absent): check the recorded fps when a video is not at 30 fps.

Resumable: videos whose ``.npy`` exists are skipped; each file is written to a
temporary name and renamed, so an interrupted run leaves no half-written file.
A video that fails is reported at the end (and in ``OUT_DIR/failures.txt``) instead
of stopping the run (a missing package, out of memory or Ctrl-C stop it at once: they
are not a property of one video); the exit status is 1 if any failed. ``--launcher pytorch``
(torchrun) splits the videos over ranks, one GPU each.
"""
import argparse
import os
import os.path as osp
import sys
import traceback

VIDEO_EXTS = ('.mp4', '.mkv', '.avi', '.webm', '.mov', '.m4v', '.flv')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Extract per-snippet features with an '
                                            'MMAction2 recognizer')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('videos', help='a folder of videos or a text file of paths')
    p.add_argument('out_dir')
    p.add_argument('--snippet-stride', type=int, default=16, help='frames per snippet step')
    p.add_argument('--clip-len', type=int, default=8, help='frames per snippet')
    p.add_argument('--frame-interval', type=int, default=1)
    p.add_argument('--short-side', type=int, default=256)
    p.add_argument('--crop', type=int, default=224)
    p.add_argument('--chunk', type=int, default=32, help='snippets per forward')
    p.add_argument('--device', default='cuda' if _cuda() else 'cpu')
    p.add_argument('--launcher', default='none', choices=['none', 'pytorch'])
    p.add_argument('--no-progress', action='store_true')
    return p.parse_args(argv)


def _cuda():
    import torch
    return torch.cuda.is_available()


def list_videos(spec: str):
    if osp.isdir(spec):
        return sorted(osp.join(spec, f) for f in os.listdir(spec)
                      if osp.splitext(f)[1].lower() in VIDEO_EXTS)
    if osp.isfile(spec):
        with open(spec) as f:
            return [line.strip() for line in f if line.strip()]
    raise FileNotFoundError(f'no such folder or list file: {spec}')


def build_encoder(config: str, checkpoint: str, device):
    """The recognizer's backbone as a ``SnippetEncoder`` (checkpoint loaded strictly)
    and its normalisation."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    import etad_mmaction  # noqa: F401
    from mmaction.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    backbone = dict(cfg.model.backbone)
    backbone.pop('frozen_stages', None)
    encoder = MODELS.build(dict(type='SnippetEncoder', backbone=backbone, frozen_stages=-1,
                                pretrained=checkpoint))
    encoder.init_weights()
    prep = cfg.model.get('data_preprocessor', {}) or {}
    mean = torch.tensor(prep.get('mean', [0.0, 0.0, 0.0]), dtype=torch.float32)
    std = torch.tensor(prep.get('std', [1.0, 1.0, 1.0]), dtype=torch.float32)
    return encoder.to(device).eval(), mean.view(1, 3, 1, 1, 1), std.view(1, 3, 1, 1, 1)


def extract_one(path: str, encoder, mean, std, args, device):
    import numpy as np
    import torch
    from mmengine.dataset import Compose
    head = Compose([dict(type='TADDecordInit')])
    results = head(dict(filename=path, video_name=osp.basename(path)))
    m = max(1, int(round(results['total_frames'] / args.snippet_stride)))
    sampler = Compose([dict(type='SampleSnippets', num_snippets=m, clip_len=args.clip_len,
                            frame_interval=args.frame_interval)])
    results = sampler(results)
    tail = Compose([dict(type='TADDecordDecode'),
                    dict(type='Resize', scale=(-1, args.short_side)),
                    dict(type='CenterCrop', crop_size=args.crop),
                    dict(type='FormatShape', input_format='NCTHW')])
    inds = results['frame_inds'].reshape(m, args.clip_len)
    feats = []
    with torch.no_grad():
        for lo in range(0, m, args.chunk):
            part = dict(results, frame_inds=inds[lo:lo + args.chunk].reshape(-1),
                        num_clips=min(args.chunk, m - lo))
            part = tail(part)
            x = torch.from_numpy(np.ascontiguousarray(part['imgs'])).float()
            x = ((x - mean) / std).to(device)
            feats.append(encoder(x).float().cpu())
    fps = float(results.get('avg_fps') or 0.0)
    frames = int(results['total_frames'])
    duration = frames / fps if fps > 0 else None
    info = dict(frames=frames, fps=fps or None, duration=duration, num_snippets=m,
                snippet_stride=args.snippet_stride, clip_len=args.clip_len,
                frame_interval=args.frame_interval,
                snippet_seconds=None if duration is None else duration / m)
    return torch.cat(feats).numpy().astype('float32'), info


def save_atomic(array, out_path: str):
    """``array`` as ``.npy`` (or a dict as ``.json``), all or nothing."""
    import numpy as np

    from etad_mmaction.fileio import atomic_path, dump_json
    if isinstance(array, dict):
        dump_json(array, out_path, indent=1)
        return
    with atomic_path(out_path) as tmp, open(tmp, 'wb') as f:
        np.save(f, array)


def remove_leftovers(out_dir: str, videos) -> None:
    """Remove the temporaries (``.<video>.npy.<pid>.tmp``, ``meta/.<video>.json.<pid>.tmp``)
    that a killed run left for this rank's videos; a live writer's are kept."""
    from etad_mmaction.fileio import remove_dead_temporaries
    stems = [osp.splitext(osp.basename(v))[0] for v in videos]
    for folder, ext in ((out_dir, '.npy'), (osp.join(out_dir, 'meta'), '.json')):
        for path in remove_dead_temporaries(folder, {s + ext for s in stems}):
            print(f'removed {path}, left by an interrupted run', file=sys.stderr)


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    from etad_mmaction.engine.launcher import set_cpu_threads
    set_cpu_threads()  # the one thread policy (tools/train.py's)
    rank, world = 0, 1
    device = args.device
    if args.launcher == 'pytorch':
        rank, world = int(os.environ['RANK']), int(os.environ['WORLD_SIZE'])
        if device.startswith('cuda'):
            device = f'cuda:{int(os.environ.get("LOCAL_RANK", rank))}'
    videos = list_videos(args.videos)[rank::world]
    os.makedirs(args.out_dir, exist_ok=True)
    meta_dir = osp.join(args.out_dir, 'meta')
    remove_leftovers(args.out_dir, videos)
    report = osp.join(args.out_dir, 'failures.txt' if world == 1 else f'failures_rank{rank}.txt')
    todo = [v for v in videos
            if not osp.exists(osp.join(args.out_dir, osp.splitext(osp.basename(v))[0] + '.npy'))]
    print(f'[rank {rank}] {len(videos)} videos, {len(videos) - len(todo)} already done',
          file=sys.stderr)
    if not todo:
        if osp.exists(report):  # of an earlier run; nothing failed since
            os.remove(report)
        return 0
    encoder, mean, std = build_encoder(args.config, args.checkpoint, device)
    import torch
    # not a property of one video: stop at once instead of failing every video
    fatal = (ImportError, MemoryError, torch.cuda.OutOfMemoryError)
    os.makedirs(meta_dir, exist_ok=True)
    failures = []
    iterator = todo
    if not args.no_progress:
        from tqdm import tqdm
        iterator = tqdm(todo, desc=f'features (rank {rank})', unit='video')
    for path in iterator:
        stem = osp.splitext(osp.basename(path))[0]
        out = osp.join(args.out_dir, stem + '.npy')
        try:
            feats, info = extract_one(path, encoder, mean, std, args, device)
            # the meta first: a present .npy always has its meta
            save_atomic(dict(info, video=path, shape=list(feats.shape)),
                        osp.join(meta_dir, stem + '.json'))
            save_atomic(feats, out)
        except fatal:
            raise
        except Exception as err:  # reported at the end; the run goes on
            failures.append((path, f'{type(err).__name__}: {err}'))
            if os.environ.get('ETAD_DEBUG'):
                traceback.print_exc()
    if failures:
        with open(report, 'w') as f:
            f.writelines(f'{p}\t{e}\n' for p, e in failures)
        print(f'[rank {rank}] {len(failures)} of {len(todo)} videos failed (see {report}):',
              file=sys.stderr)
        for p, e in failures:
            print(f'  {p}: {e}', file=sys.stderr)
        return 1
    if osp.exists(report):  # a stale report of an earlier run
        os.remove(report)
    print(f'[rank {rank}] done: {len(todo)} videos -> {args.out_dir}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
