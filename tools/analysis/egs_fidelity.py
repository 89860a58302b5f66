"""EGS fidelity on CPU (docs/benchmarks.md, section 5): does training the encoder on
30% of the snippets recover most of what complete end-to-end training gains over
frozen features (the paper's Fig. 4a / Table 11 claim)?

    python tools/analysis/egs_fidelity.py [--work-dir work_dirs/egs_fidelity] [--out JSON]

1. Synthetic videos (mp4, 64x64, 8 fps, 6-12 s) whose frames carry the actions: an
   oriented stripe texture per class (4 classes) moving over slowly varying noise, with
   a class-free distractor blob everywhere; 1-2 actions per video.
2. A small MMAction2 recognizer (Recognizer2D, TSM-ResNet18, 2 frames) pretrained
   briefly on 2-frame clips of those videos (4 action classes + background), saved as
   a stock MMAction2 checkpoint.
3. ETADEndToEnd (that encoder through ``init_cfg=Pretrained``, frozen stages 2, all
   BatchNorm frozen; T = 16 snippets of 2 frames, 56x56 random crops) trained through
   the stock MMEngine Runner at EGS ratio 0, 0.3 and 1 (single pass, same seed, same
   schedule), evaluated by class-agnostic detection mAP on held-out videos.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
K, SIZE, FPS, M, T = 4, 64, 8, 16, 2


# ---------------------------------------------------------------- 1. videos
def _stripes(k, size, phase):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    theta = np.pi * k / K
    return np.sin((xx * np.cos(theta) + yy * np.sin(theta)) * 0.8 + phase)


def make_videos(root, n_train, n_val, seed=0):
    import cv2
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'videos'), exist_ok=True)
    db = {}
    for i in range(n_train + n_val):
        vid = f'syn{i:04d}'
        n = int(rng.integers(6, 13)) * FPS
        acts = []
        for _ in range(int(rng.integers(1, 3))):
            length = int(rng.integers(n // 6, n // 2))
            start = int(rng.integers(0, n - length))
            if all(start >= e + 2 or start + length + 2 <= s for s, e, _ in acts):
                acts.append((start, start + length, int(rng.integers(0, K))))
        base = rng.normal(0, 1, (n // FPS + 2, SIZE // 8, SIZE // 8, 3)).astype(np.float32)
        frames = []
        for f in range(n):
            a = f / FPS
            lo, w = int(a), a - int(a)
            bg = (1 - w) * base[lo] + w * base[lo + 1]
            img = cv2.resize(bg, (SIZE, SIZE), interpolation=cv2.INTER_CUBIC) * 40 + 110
            cy, cx = (SIZE / 2 + 16 * np.sin(f / 9.0 + i), SIZE / 2 + 16 * np.cos(f / 7.0 + i))
            cv2.circle(img, (int(cx), int(cy)), 7, (150, 150, 150), -1)      # distractor
            for s, e, k in acts:
                if s <= f < e:
                    y0 = int((SIZE - 28) * (0.5 + 0.4 * np.sin(f / 11.0 + k)))
                    x0 = int((SIZE - 28) * (0.5 + 0.4 * np.cos(f / 13.0 + k)))
                    tex = _stripes(k, 28, f * 0.5)[..., None] * 60
                    img[y0:y0 + 28, x0:x0 + 28] += tex
            frames.append(np.clip(img, 0, 255).astype(np.uint8))
        path = osp.join(root, 'videos', f'{vid}.mp4')
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), FPS, (SIZE, SIZE))
        for img in frames:
            writer.write(img)
        writer.release()
        db[vid] = dict(subset='training' if i < n_train else 'validation',
                       duration=n / FPS, fps=FPS,
                       annotations=[dict(segment=[s / FPS, e / FPS], label=f'c{k}')
                                    for s, e, k in sorted(acts)])
    with open(osp.join(root, 'gt.json'), 'w') as f:
        json.dump(dict(version='egs-fidelity', database=db), f)
    return db


# ---------------------------------------------------------------- 2. pretraining
def pretrain(root, db, steps, seed=0):
    import decord
    import torch
    from mmengine.registry import DefaultScope
    from mmaction.registry import MODELS
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    clips, labels = [], []
    for vid, info in db.items():
        if info['subset'] != 'training':
            continue
        frames = decord.VideoReader(osp.join(root, 'videos', f'{vid}.mp4'))[:].asnumpy()
        spans = [(int(a['segment'][0] * FPS), int(a['segment'][1] * FPS),
                  int(a['label'][1:])) for a in info['annotations']]
        for f in range(0, len(frames) - 2, 3):
            lab = next((k for s, e, k in spans if s <= f + 1 < e), K)
            clips.append(frames[f:f + 2])
            labels.append(lab)
    clips = np.stack(clips)                                     # [N, 2, H, W, 3]
    labels = np.array(labels)
    cfg = dict(type='Recognizer2D',
               backbone=dict(type='ResNetTSM', depth=18, num_segments=T, pretrained=None),
               cls_head=dict(type='TSMHead', num_classes=K + 1, in_channels=512,
                             num_segments=T, dropout_ratio=0.0),
               data_preprocessor=dict(type='ActionDataPreprocessor', mean=[110.0] * 3,
                                      std=[50.0] * 3, format_shape='NCHW'))
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(cfg)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4)
    mean, std = torch.tensor([110.0] * 3).view(1, 3, 1, 1), torch.tensor([50.0] * 3).view(1, 3, 1, 1)
    for step in range(steps):
        idx = rng.integers(0, len(clips), 32)
        y0, x0 = rng.integers(0, SIZE - 56, 2)
        x = torch.from_numpy(clips[idx, :, y0:y0 + 56, x0:x0 + 56]).float()
        x = (x.permute(0, 1, 4, 2, 3).reshape(-1, 3, 56, 56) - mean) / std
        feats = model.backbone(x)
        logits = model.cls_head(feats, num_segs=T)
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        model.eval()
        idx = rng.integers(0, len(clips), 512)
        x = torch.from_numpy(clips[idx, :, 4:60, 4:60]).float()
        x = (x.permute(0, 1, 4, 2, 3).reshape(-1, 3, 56, 56) - mean) / std
        acc = float((model.cls_head(model.backbone(x), num_segs=T).argmax(1).numpy()
                     == labels[idx]).mean())
    ckpt = osp.join(root, 'tsm_r18_pretrained.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(steps=steps)), ckpt)
    return ckpt, acc, float(loss)


# ---------------------------------------------------------------- 3. TAD
def tad_cfg(root, ckpt, ratio, work_dir, epochs):
    from mmengine.config import Config

    def pipe(crop):
        return [dict(type='TADDecordInit'), dict(type='SampleSnippets', clip_len=T,
                                                   frame_interval=None),
                dict(type='TADDecordDecode'), crop,
                dict(type='FormatShape', input_format='NCTHW'), dict(type='PackTADInputs')]
    data = dict(type='ActivityNetVideoDataset', data_root=root, ann_file='gt.json',
                data_prefix=dict(video='videos'), num_snippets=M)
    loader = dict(num_workers=0, persistent_workers=False)
    return Config(dict(
        default_scope='mmaction',
        custom_imports=dict(imports=['etad_mmaction'], allow_failed_imports=False),
        model=dict(
            type='ETADEndToEnd',
            data_preprocessor=dict(type='ActionDataPreprocessor', mean=[110.0] * 3,
                                   std=[50.0] * 3, format_shape='NCTHW'),
            encoder=dict(type='SnippetEncoder', frozen_stages=2,
                         backbone=dict(type='ResNetTSM', depth=18, num_segments=T,
                                       pretrained=None),
                         init_cfg=dict(type='Pretrained', checkpoint=ckpt, prefix='backbone.')),
            detector=dict(type='ETAD', num_snippets=M, max_duration=M,
                          neck=dict(type='LSTMFeatureEnhancement', in_channels=512,
                                    hidden_channels=128, branch_channels=64,
                                    out_channels=128),
                          boundary_head=dict(type='BoundaryHead', in_channels=128),
                          proposal_head=dict(type='CascadeProposalHead', in_channels=128,
                                             roi_channels=64, hidden_dims=(256, 64, 64, 64)),
                          sampler=dict(type='RandomSampler', ratio=0.3)),
            egs=dict(ratio=ratio, mode='single_pass', sampler=dict(type='RandomSampler'))),
        train_dataloader=dict(batch_size=4, sampler=dict(type='DefaultSampler', shuffle=True),
                              drop_last=True, **loader,
                              dataset=dict(data, subset='training', pipeline=pipe(
                                  dict(type='RandomCrop', size=56)))),
        val_dataloader=dict(batch_size=4, sampler=dict(type='DefaultSampler', shuffle=False),
                            **loader, dataset=dict(data, subset='validation', test_mode=True,
                                                   pipeline=pipe(dict(type='CenterCrop',
                                                                      crop_size=56)))),
        val_evaluator=dict(type='TADMetric', metric_type='detection', protocol='anet'),
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=epochs, val_interval=epochs),
        val_cfg=dict(type='ValLoop'),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
                           paramwise_cfg=dict(custom_keys={'encoder': dict(lr_mult=0.1)})),
        param_scheduler=[dict(type='MultiStepLR', begin=0, end=epochs, by_epoch=True,
                              milestones=[epochs - 2], gamma=0.1)],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=epochs),
                           logger=dict(type='LoggerHook', interval=50)),
        custom_hooks=[dict(type='ETADSamplingHook')],
        randomness=dict(seed=0), work_dir=work_dir, log_level='WARNING'))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'egs_fidelity'))
    p.add_argument('--num-train', type=int, default=48)
    p.add_argument('--num-val', type=int, default=32)
    p.add_argument('--pretrain-steps', type=int, default=120)
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--ratios', type=float, nargs='+', default=[0.0, 0.3, 1.0])
    p.add_argument('--out', default=osp.join(ROOT, 'docs', 'benchmarks', 'egs_fidelity_cpu.json'))
    args = p.parse_args()
    sys.path.insert(0, ROOT)
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    import etad_mmaction  # noqa: F401
    from mmengine.runner import Runner
    from benchmark import environment
    data = osp.join(args.work_dir, 'data')
    t0 = time.perf_counter()
    db = make_videos(data, args.num_train, args.num_val)
    ckpt, acc, loss = pretrain(data, db, args.pretrain_steps)
    res = dict(env=environment('cpu'), command=' '.join(['python'] + sys.argv),
               videos=dict(train=args.num_train, val=args.num_val, classes=K, size=SIZE,
                           fps=FPS),
               pretrain=dict(steps=args.pretrain_steps, clip_accuracy=acc, final_loss=loss,
                             seconds=time.perf_counter() - t0),
               tad=dict(snippets=M, frames=T, crop=56, epochs=args.epochs, batch=4,
                        encoder='TSM-R18, frozen stages 2, BN frozen, lr x0.1',
                        mode='single_pass'),
               runs=[])
    for ratio in args.ratios:
        t1 = time.perf_counter()
        runner = Runner.from_cfg(tad_cfg(data, ckpt, ratio, osp.join(args.work_dir, f'r{ratio}'),
                                         args.epochs))
        runner.train()
        metrics = runner.val_loop.run()
        res['runs'].append(dict(ratio=ratio, seconds=time.perf_counter() - t1,
                                **{k: float(v) for k, v in metrics.items()}))
        print(json.dumps(res['runs'][-1]), file=sys.stderr, flush=True)
    by = {r['ratio']: r['avg_mAP'] for r in res['runs']}
    if {0.0, 0.3, 1.0} <= set(by) and by[1.0] != by[0.0]:
        res['gain_recovered_at_0.3'] = (by[0.3] - by[0.0]) / (by[1.0] - by[0.0])
    os.makedirs(osp.dirname(args.out), exist_ok=True)
    with open(args.out + '.tmp', 'w') as f:
        json.dump(res, f, indent=2)
    os.replace(args.out + '.tmp', args.out)
    print(json.dumps(res, indent=2))


if __name__ == '__main__':
    main()
