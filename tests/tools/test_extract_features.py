"""tools/data/extract_features.py on the real short videos: one .npy per video in the
layout the feature datasets read, resumable, atomic, failures summarised."""
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

import etad_mmaction  # noqa: F401
from etad_mmaction.datasets import ActivityNetFeatureDataset
from mmaction.registry import MODELS
from etad_mmaction.testing import load_tool, tiny_tsm_recognizer

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VIDEOS = osp.join(ROOT, 'tests', 'data', 'videos')  # real footage, tests/data
extract_features = load_tool('data/extract_features.py')


@pytest.fixture(scope='module')
def recognizer(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('rec')
    cfg = Config(dict(
        default_scope='mmaction',
        model=tiny_tsm_recognizer(5, mean=[123.675, 116.28, 103.53],
                                  std=[58.395, 57.12, 57.375])))
    path = str(tmp / 'tsm_r18.py')
    cfg.dump(path)
    torch.manual_seed(0)
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(cfg.model)
    ckpt = str(tmp / 'tsm_r18.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    return path, ckpt, model


def _args(rec, videos, out):
    return [rec[0], rec[1], videos, out, '--snippet-stride', '40', '--clip-len', '2',
            '--short-side', '40', '--crop', '32', '--chunk', '3', '--device', 'cpu',
            '--no-progress']


def test_extract_resume_and_failures(recognizer, tmp_path):
    videos = tmp_path / 'videos'
    videos.mkdir()
    for name in ('demo.mp4', 'test.mp4'):
        os.symlink(osp.abspath(osp.join(VIDEOS, name)), videos / name)
    (videos / 'broken.mp4').write_bytes(b'\x00' * 4096)
    out = str(tmp_path / 'feats')
    assert extract_features.main(_args(recognizer, str(videos), out)) == 1
    assert sorted(os.listdir(out)) == ['demo.npy', 'failures.txt', 'meta', 'test.npy']
    assert sorted(os.listdir(osp.join(out, 'meta'))) == ['demo.json', 'test.json']  # no temp
    import json
    meta = json.load(open(osp.join(out, 'meta', 'demo.json')))
    assert meta['frames'] == 280 and meta['fps'] == pytest.approx(28.0, rel=1e-3)
    assert meta['num_snippets'] == 7 and meta['shape'] == [7, 512]
    assert meta['snippet_seconds'] == pytest.approx(10.0 / 7, rel=1e-3)
    demo, test = np.load(osp.join(out, 'demo.npy')), np.load(osp.join(out, 'test.npy'))
    assert demo.shape == (7, 512) and test.shape == (8, 512)       # round(280/40), round(300/40)
    assert demo.dtype == np.float32 and np.isfinite(demo).all() and demo.std() > 0
    assert 'broken.mp4' in open(osp.join(out, 'failures.txt')).read()
    # resumable: existing outputs are skipped (untouched), only the failure is retried
    stamp = os.stat(osp.join(out, 'demo.npy')).st_mtime_ns
    (videos / 'broken.mp4').unlink()
    assert extract_features.main(_args(recognizer, str(videos), out)) == 0
    assert os.stat(osp.join(out, 'demo.npy')).st_mtime_ns == stamp
    # a list file of paths gives the same features
    lst = tmp_path / 'list.txt'
    lst.write_text(str(videos / 'demo.mp4') + '\n')
    out2 = str(tmp_path / 'feats2')
    assert extract_features.main(_args(recognizer, str(lst), out2)) == 0
    np.testing.assert_array_equal(np.load(osp.join(out2, 'demo.npy')), demo)


@pytest.mark.parametrize('fatal', [ImportError('no module named decord'),
                                   torch.cuda.OutOfMemoryError('CUDA out of memory')])
def test_errors_of_the_run_are_not_per_video_failures(recognizer, tmp_path, monkeypatch,
                                                      fatal):
    def boom(*args, **kwargs):
        raise fatal
    monkeypatch.setattr(extract_features, 'extract_one', boom)
    out = str(tmp_path / 'feats')
    with pytest.raises(type(fatal)):
        extract_features.main(_args(recognizer, VIDEOS, out))
    assert not [f for f in os.listdir(out) if f != 'meta']


def test_features_equal_the_recognizer_backbone(recognizer, tmp_path):
    """Row i = global average of the stock recognizer's backbone output over the
    snippet's frames (the checkpoint's weights, the config's normalisation)."""
    cfg_path, ckpt, model = recognizer
    args = extract_features.parse_args(_args(recognizer, VIDEOS, str(tmp_path)))
    encoder, mean, std = extract_features.build_encoder(cfg_path, ckpt, 'cpu')
    feats, _ = extract_features.extract_one(osp.join(VIDEOS, 'demo.mp4'), encoder, mean,
                                            std, args, 'cpu')
    from mmengine.dataset import Compose
    pipe = Compose([dict(type='TADDecordInit'),
                    dict(type='SampleSnippets', num_snippets=7, clip_len=2),
                    dict(type='TADDecordDecode'), dict(type='Resize', scale=(-1, 40)),
                    dict(type='CenterCrop', crop_size=32),
                    dict(type='FormatShape', input_format='NCHW')])
    imgs = pipe(dict(filename=osp.join(VIDEOS, 'demo.mp4'), video_name='demo'))['imgs']
    x = torch.from_numpy(np.ascontiguousarray(imgs)).float()        # [7*2, 3, 32, 32]
    x = (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
    model.eval()
    with torch.no_grad():
        maps = model.backbone(x)                                      # [14, 512, h, w]
    ref = maps.view(7, 2, 512, -1).mean(dim=(1, 3)).numpy()
    np.testing.assert_allclose(feats, ref, rtol=1e-4, atol=1e-5)


def test_output_layout_is_what_the_feature_dataset_reads(recognizer, tmp_path):
    out = tmp_path / 'feats'
    assert extract_features.main(_args(recognizer, VIDEOS, str(out))) == 0
    ann = tmp_path / 'anet.json'
    ann.write_text('{"database": {"demo": {"subset": "validation", "duration": 10.0, '
                   '"annotations": [{"segment": [1.0, 4.0], "label": "Jump"}]}}}')
    ds = ActivityNetFeatureDataset(ann_file=str(ann), data_prefix=dict(feature=str(out)),
                                   feature_dim=512, num_snippets=16, test_mode=True)
    assert tuple(ds[0]['inputs'].shape) == (512, 16)


@pytest.mark.slow
def test_rerun_removes_leftovers_of_a_dead_run(tmp_path, monkeypatch):
    import subprocess
    monkeypatch.setattr(extract_features, 'build_encoder', lambda *a: (None, None, None))
    monkeypatch.setattr(extract_features, 'extract_one',
                        lambda path, *a: (np.ones((3, 4), np.float32), dict(fps=30.0)))
    videos = tmp_path / 'videos'
    videos.mkdir()
    for name in ('a.mp4', 'b.mp4'):
        (videos / name).write_bytes(b'')
    out = tmp_path / 'feats'
    (out / 'meta').mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    stale = [out / f'.a.npy.{dead.pid}.tmp', out / 'meta' / f'.a.json.{dead.pid}.tmp']
    live = out / f'.b.npy.{os.getppid()}.tmp'          # a writer still running
    other = out / f'.zz.npy.{dead.pid}.tmp'            # not a video of this run
    for p in stale + [live, other]:
        p.write_bytes(b'partial')
    (out / 'failures.txt').write_text('a.mp4\tearlier failure\n')
    rec = ('cfg.py', 'ckpt.pth')
    assert extract_features.main(_args(rec, str(videos), str(out))) == 0
    assert not any(p.exists() for p in stale) and live.exists() and other.exists()
    assert not (out / 'failures.txt').exists()            # a stale report is removed
    (out / 'failures.txt').write_text('a.mp4\tearlier failure\n')
    assert extract_features.main(_args(rec, str(videos), str(out))) == 0   # all done
    assert not (out / 'failures.txt').exists()
