"""Options of the authors' end-to-end recipe (issue 23): the training-video filter, EGS
counted in whole chunks, BatchNorm with frozen statistics and trained affine parameters,
RandAugment without imgaug (MMAction2's ImgAug 'default' list) and ColorJitter under
NumPy 2."""
import json
import os
import os.path as osp
import random

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from PIL import Image, ImageEnhance

import etad_mmaction  # noqa: F401
from etad_mmaction.datasets.transforms.augment import TADRandAugment, _op
from etad_mmaction.models.encoders import EncoderGradientSampling
from mmaction.registry import DATASETS, MODELS, TRANSFORMS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VIDEOS = osp.join(ROOT, 'tests', 'data', 'videos')


@pytest.fixture(autouse=True)
def scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def test_min_action_ratio_drops_training_videos_with_only_tiny_actions(tmp_path):
    (tmp_path / 'videos').mkdir()
    for name in ('v_a', 'v_b', 'v_c'):
        os.symlink(osp.join(VIDEOS, 'demo.mp4'), tmp_path / 'videos' / f'{name}.mp4')
    db = {'a': dict(subset='training', duration=100.0, annotations=[       # 0.5% + 0.9%
                    dict(segment=[10.0, 10.5], label='x'), dict(segment=[50, 50.9], label='x')]),
          'b': dict(subset='training', duration=100.0, annotations=[       # 0.5% + 1.2%
                    dict(segment=[10.0, 10.5], label='x'), dict(segment=[50, 51.2], label='x')]),
          'c': dict(subset='training', duration=100.0, annotations=[       # 1% exactly, clipped
                    dict(segment=[99.5, 101.0], label='x'), dict(segment=[0, 1.0], label='x')])}
    (tmp_path / 'gt.json').write_text(json.dumps(dict(database=db)))

    def names(**kw):
        ds = DATASETS.build(dict(type='ActivityNetVideoDataset', data_root=str(tmp_path),
                                 ann_file='gt.json', data_prefix=dict(video='videos'),
                                 num_snippets=8, pipeline=[], **kw))
        return sorted(ds.get_data_info(i)['video_name'] for i in range(len(ds)))

    assert names() == ['a', 'b', 'c']                         # off by default
    assert names(min_action_ratio=0.01) == ['b']              # kept: one action > 1%
    assert names(min_action_ratio=0.01, test_mode=True) == ['a', 'b', 'c']
    b = DATASETS.build(dict(type='ActivityNetVideoDataset', data_root=str(tmp_path),
                            ann_file='gt.json', data_prefix=dict(video='videos'),
                            num_snippets=8, pipeline=[], min_action_ratio=0.01))
    assert len(b.get_data_info(0)['gt_segments']) == 2        # its tiny action stays
    with pytest.raises(ValueError, match='min_action_ratio'):
        names(min_action_ratio=1.5)


def test_egs_count_in_whole_chunks():
    floor = EncoderGradientSampling(ratio=0.3, mode='injection', chunk_size=4)
    chunks = EncoderGradientSampling(ratio=0.3, mode='injection', chunk_size=4, count='chunks')
    assert [floor.num_grad(m) for m in (128, 16, 100)] == [38, 4, 30]
    # the authors: chunk_size * int(M * ratio / chunk_size + 0.99)
    assert [chunks.num_grad(m) for m in (128, 16, 100, 4)] == [40, 8, 32, 4]
    gen = torch.Generator().manual_seed(0)
    idx = chunks.select(128, generator=gen)
    assert len(idx) == 40 == len(set(idx.tolist())) and idx.max() < 128
    assert len(floor.select(128, generator=gen)) == 38
    with pytest.raises(ValueError, match="'floor' or 'chunks'"):
        EncoderGradientSampling(ratio=0.3, count='ceil')


def test_freeze_bn_stats_keeps_statistics_and_trains_affine():
    enc = MODELS.build(dict(type='SnippetEncoder', frozen_stages=1, freeze_bn='stats',
                            backbone=dict(type='ResNet3dSlowOnly', depth=18, pretrained=None,
                                          pretrained2d=False, lateral=False)))
    enc.train()
    bns = [m for m in enc.backbone.layer3.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert bns and all(not m.training and m.weight.requires_grad for m in bns)
    assert not any(p.requires_grad for p in enc.backbone.layer1.parameters())
    x = torch.randn(2, 3, 4, 32, 32)
    before = bns[0].running_mean.clone()
    enc(x).sum().backward()
    assert torch.equal(bns[0].running_mean, before) and bns[0].weight.grad is not None
    with pytest.raises(ValueError, match="'stats'"):
        MODELS.build(dict(type='SnippetEncoder', freeze_bn='all',
                          backbone=dict(type='ResNet3dSlowOnly', depth=18, pretrained=None,
                                        pretrained2d=False, lateral=False)))


def _frames(n=3, h=24, w=32, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_randaugment_is_mmaction_imgaug_default_list():
    from mmaction.datasets.transforms import ImgAug
    random.seed(3)
    want = ImgAug.default_transforms()            # a staticmethod: no imgaug needed
    random.seed(3)
    aug = TRANSFORMS.build(dict(type='TADRandAugment', transforms='default'))
    assert aug.specs == want and want[0]['type'] == 'SomeOf' and want[0]['n'] == 2
    assert len(aug.groups[0][1]) == len(want[0]['children']) == 15
    frame = _frames(1)[0]
    random.seed(0)
    seen = set()
    for _ in range(40):                          # two ops per video, same on every frame
        out = aug(dict(imgs=[frame.copy(), frame.copy()]))
        (ops,) = out['randaugment_ops']
        assert len(ops) == 2 and ops == sorted(ops)
        assert np.array_equal(out['imgs'][0], out['imgs'][1])
        assert out['imgs'][0].shape == frame.shape and out['imgs'][0].dtype == np.uint8
        seen.update(ops)
    assert len(seen) > 10
    with pytest.raises(KeyError, match='not implemented'):
        TADRandAugment([dict(type='Fog')])


def test_randaugment_operations():
    frame = _frames(1)[0]
    img = Image.fromarray(frame)

    def run(**spec):
        return np.asarray(_op(spec)(img, dict(cx=0.5, cy=0.5))).astype(int)

    assert np.array_equal(run(type='Invert', p=1.0), 255 - frame)
    sol = run(type='Solarize', threshold=230.4)
    assert np.array_equal(sol, np.where(frame >= 230.4, 255 - frame, frame))
    assert (run(type='Posterize', nb_bits=3) % 32 == 0).all()
    for kind, cls in (('EnhanceColor', ImageEnhance.Color),
                      ('EnhanceContrast', ImageEnhance.Contrast),
                      ('EnhanceBrightness', ImageEnhance.Brightness),
                      ('EnhanceSharpness', ImageEnhance.Sharpness)):
        assert np.array_equal(run(type=kind, factor=1.72), np.asarray(cls(img).enhance(1.72)))
    cut = run(type='Cutout', nb_iterations=1, size=0.25, squared=True)   # 8 x 6 box of 128
    changed = (cut != frame).any(-1)
    ys, xs = np.nonzero(changed)
    assert (cut[changed] == 128).all() and xs.max() - xs.min() < 8 and ys.max() - ys.min() < 6
    # translate by 25% of the width: column j of the output is column j - 8 of the input
    shifted = run(type='TranslateX', percent=0.25)
    np.testing.assert_array_equal(shifted[:, 8:], frame[:, :-8])
    assert (shifted[:, :8] == 0).all()
    line = np.zeros((24, 32, 3), np.uint8)
    line[:, 16] = 255                            # a vertical line leans under ShearX
    sheared = np.asarray(_op(dict(type='ShearX', shear=15.0))(Image.fromarray(line), {}))
    top, bottom = sheared[1, :, 0].argmax(), sheared[-2, :, 0].argmax()
    assert abs(abs(int(top) - int(bottom)) - np.tan(np.deg2rad(15)) * 21) <= 1.5
    assert (run(type='Rotate', rotate=27.0) != frame).any()


def test_color_jitter_under_numpy2():
    jitter = TRANSFORMS.build(dict(type='TADColorJitter'))
    np.random.seed(0)
    for _ in range(5):
        out = jitter(dict(imgs=_frames(2)))
        assert out['imgs'][0].dtype == np.uint8
    hue = jitter.adjust_hue(np.full((4, 4, 3), (200, 30, 30), np.float32), -0.09)
    assert hue.shape == (4, 4, 3) and not np.array_equal(hue[0, 0], [200, 30, 30])
