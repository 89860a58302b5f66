"""End-to-end (raw video) data: SampleSnippets, decord loading with errors that
name the file, PackTADInputs on imgs, ActivityNet/THUMOS video datasets.

Real videos: tests/data/videos/demo.mp4 (280 frames at 28 fps, 340x256)
and test.mp4 (300 frames at 30 fps)."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose

from mmaction.datasets.transforms import DecordDecode, DecordInit
from mmaction.registry import DATASETS, TRANSFORMS
from mmaction.structures import ActionDataSample

from etad_mmaction.datasets import (ActivityNetVideoDataset, PackTADInputs, SampleSnippets,
                                    TADAnnotationWarning, TADDecordDecode, TADDecordInit,
                                    ThumosVideoDataset, VideoReadError)
from etad_mmaction.datasets.transforms import CONTRACT_META_KEYS
from tad_helpers import VIDEOS, write_json

DEMO = osp.join(VIDEOS, 'demo.mp4')
TEST = osp.join(VIDEOS, 'test.mp4')


def pipeline(m, t, crop=56, init='DecordInit', decode='DecordDecode', flip=0.5,
             random_crop=True):
    spatial = dict(type='RandomCrop', size=crop) if random_crop \
        else dict(type='CenterCrop', crop_size=crop)
    return [dict(type=init), dict(type='SampleSnippets', num_snippets=m, clip_len=t),
            dict(type=decode), dict(type='Resize', scale=(-1, 64)), spatial,
            dict(type='Flip', flip_ratio=flip), dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackTADInputs')]


def contract_results(filename, m, duration=10.0):
    return dict(filename=filename, modality='RGB', video_name='demo', sample_idx=3, num_snippets=m,
                duration=duration, window_start=0.0, snippet_seconds=duration / m,
                gt_video=[[1.0, 4.0, 'Jump']], gt_segments=np.array([[1.0, 4.0]]) / duration * m,
                gt_labels=np.array([0]))


# ----------------------------------------------------------------- SampleSnippets
def test_sample_snippets_whole_video_evenly_spaced():
    n, m, t = 280, 16, 8
    r = SampleSnippets(num_snippets=m, clip_len=t)(dict(total_frames=n))
    inds = r['frame_inds']
    assert inds.dtype == np.int64 and inds.shape == (m * t,)
    assert r['clip_len'] == t and r['num_clips'] == m and r['frame_interval'] == 1
    assert r['num_snippets'] == m and inds.min() >= 0 and inds.max() <= n - 1
    clips = inds.reshape(m, t)
    assert (np.diff(clips, axis=1) == 1).all()              # consecutive frames
    centres = clips.mean(1) + 0.5                            # frame k covers [k, k + 1)
    np.testing.assert_allclose(centres, (np.arange(m) + 0.5) * n / m, atol=0.5)
    np.testing.assert_allclose(np.diff(centres), n / m, atol=1.0)
    for i, clip in enumerate(clips):                         # centre inside snippet i
        assert i * n / m <= clip[t // 2] < (i + 1) * n / m


def test_sample_snippets_interval_and_spread():
    r = SampleSnippets(num_snippets=4, clip_len=4, frame_interval=3)(dict(total_frames=400))
    clips = r['frame_inds'].reshape(4, 4)
    assert (np.diff(clips, axis=1) == 3).all()
    np.testing.assert_allclose(clips.mean(1), (np.arange(4) + 0.5) * 100, atol=1.0)
    # frame_interval=None spreads the T frames over the snippet (TSN/TSM style)
    r = SampleSnippets(num_snippets=4, clip_len=4, frame_interval=None)(dict(total_frames=400))
    clips = r['frame_inds'].reshape(4, 4)
    assert (np.diff(clips, axis=1) == 25).all() and r['frame_interval'] == 25.0
    assert all(i * 100 <= c.min() and c.max() < (i + 1) * 100 for i, c in enumerate(clips))


@pytest.mark.parametrize('n', [1, 5, 20, 100])
def test_sample_snippets_short_video_repeats_frames(n):
    m, t = 16, 8                                  # M * T = 128 > n
    inds = SampleSnippets(num_snippets=m, clip_len=t)(dict(total_frames=n))['frame_inds']
    assert inds.shape == (m * t,) and inds.min() >= 0 and inds.max() <= n - 1
    assert len(np.unique(inds)) <= n < m * t      # repeated frames
    clips = inds.reshape(m, t)
    assert (np.diff(clips, axis=1) >= 0).all()     # each clip in time order
    assert (np.diff(clips.mean(1)) >= 0).all()     # snippets in time order
    if n >= m:
        assert (np.diff(clips[:, t // 2]) > 0).all()   # distinct centres


def test_sample_snippets_window():
    m, t, s = 16, 4, 4
    base = dict(total_frames=300, window_start_frame=100.0, window_num_frames=m * s)
    r = SampleSnippets(num_snippets=m, clip_len=t)(dict(base))
    clips = r['frame_inds'].reshape(m, t)
    np.testing.assert_allclose(clips.mean(1) + 0.5, 100 + (np.arange(m) + 0.5) * s, atol=0.5)
    assert r['valid_snippets'] == m
    # decoder frame rate differs from the dataset's: positions follow the seconds
    r = SampleSnippets(num_snippets=m, clip_len=t)(dict(base, fps=30.0, avg_fps=15.0))
    np.testing.assert_allclose(r['frame_inds'].reshape(m, t).mean(1) + 0.5,
                               50 + (np.arange(m) + 0.5) * s / 2, atol=0.5)
    # window reaching past the end (video shorter than a window): last frame repeated
    r = SampleSnippets(num_snippets=m, clip_len=t)(dict(base, total_frames=130))
    assert r['frame_inds'].max() == 129 and r['valid_snippets'] == 8   # starts < 130


def test_sample_snippets_num_snippets_from_dataset_and_errors():
    r = SampleSnippets(clip_len=2)(dict(total_frames=50, num_snippets=10))
    assert r['frame_inds'].shape == (20,)
    with pytest.raises(ValueError, match='num_snippets=12'):
        SampleSnippets(num_snippets=10)(dict(total_frames=50, num_snippets=12, video_name='x'))
    with pytest.raises(KeyError, match='total_frames'):
        SampleSnippets(num_snippets=10)(dict(video_name='x'))
    with pytest.raises(KeyError, match='num_snippets'):
        SampleSnippets()(dict(total_frames=50))
    with pytest.raises(ValueError):
        SampleSnippets(clip_len=0)
    assert isinstance(TRANSFORMS.build(dict(type='SampleSnippets', num_snippets=4)),
                      SampleSnippets)


# ----------------------------------------------------------------- decoding
def test_video_lengths():
    import decord
    assert len(decord.VideoReader(DEMO)) == 280 and len(decord.VideoReader(TEST)) == 300


def test_stock_pipeline_packs_snippets():
    m, t = 16, 4
    pipe = Compose([TRANSFORMS.build(c) for c in pipeline(m, t)])
    out = pipe(contract_results(DEMO, m))
    x = out['inputs']
    assert isinstance(x, torch.Tensor) and x.dtype == torch.uint8
    assert tuple(x.shape) == (m, 3, t, 56, 56)
    ds = out['data_samples']
    assert isinstance(ds, ActionDataSample)
    meta = ds.metainfo
    assert set(CONTRACT_META_KEYS) - {'classifier_scores'} <= set(meta)
    assert meta['video_name'] == 'demo' and meta['sample_idx'] == 3
    assert meta['num_snippets'] == m and meta['window_start'] == 0.0
    assert meta['snippet_seconds'] == pytest.approx(10.0 / m)
    assert meta['gt_video'] == [[1.0, 4.0, 'Jump']]
    np.testing.assert_allclose(ds.gt_instances.segments.numpy(), [[1.6, 6.4]], rtol=1e-6)
    assert ds.gt_instances.labels.tolist() == [0]
    # batched by the e2e model's preprocessor: [B, M, C, T, H, W]
    from mmaction.registry import MODELS
    pre = MODELS.build(dict(type='ActionDataPreprocessor', format_shape='NCTHW',
                            mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]))
    batch = pre(dict(inputs=[x, x.clone()], data_samples=[ds, ds]))
    assert tuple(batch['inputs'].shape) == (2, m, 3, t, 56, 56)


def test_tad_decode_matches_stock_with_repeated_frames():
    # 64 * 8 = 512 > 300 frames: overlapping clips, repeated and backward indices
    m, t = 64, 8
    a = SampleSnippets(num_snippets=m, clip_len=t)(TADDecordInit()(dict(filename=TEST)))
    b = dict(a, video_reader=DecordInit()(dict(filename=TEST))['video_reader'])
    assert (np.diff(a['frame_inds']) < 0).any()
    a = TADDecordDecode()(a)
    b = DecordDecode()(b)
    assert len(a['imgs']) == m * t
    assert all(np.array_equal(x, y) for x, y in zip(a['imgs'], b['imgs']))
    assert a['imgs'][0].shape == (256, 340, 3)
    # repeated indices are independent arrays: an in-place Flip changes each once
    ids = {id(x) for x in a['imgs']}
    assert len(ids) == m * t
    flip = TRANSFORMS.build(dict(type='Flip', flip_ratio=1.0))
    flipped = flip(dict(a, imgs=list(a['imgs']), modality='RGB'))
    assert all(np.array_equal(x, y[:, ::-1]) for x, y in zip(flipped['imgs'], b['imgs']))


def test_pack_video_errors_and_feature_path_unchanged():
    base = contract_results('x.mp4', 4)
    with pytest.raises(ValueError, match='FormatShape'):
        PackTADInputs()(dict(base, imgs=np.zeros((16, 8, 8, 3), np.uint8)))
    with pytest.raises(ValueError, match='num_snippets=4'):
        PackTADInputs()(dict(base, imgs=np.zeros((8, 3, 2, 8, 8), np.uint8)))
    out = PackTADInputs()(dict(base, imgs=np.zeros((4, 3, 2, 8, 8), np.float32)))
    assert out['inputs'].dtype == torch.float32 and out['inputs'].shape == (4, 3, 2, 8, 8)
    with pytest.raises(KeyError, match=r'PackTADInputs needs "raw_feature" \(add LoadTADFeature\)'):
        PackTADInputs()(dict(base))
    out = PackTADInputs()(dict(base, raw_feature=np.ones((5, 4), np.float64)))
    assert out['inputs'].dtype == torch.float32 and out['inputs'].shape == (5, 4)


def test_garbage_and_missing_video_name_the_file(tmp_path):
    bad = tmp_path / 'broken_clip.mp4'
    bad.write_bytes(np.random.default_rng(0).bytes(4000))
    empty = tmp_path / 'empty_clip.mp4'
    empty.write_bytes(b'')
    with pytest.raises(Exception) as stock:            # stock DecordInit: no file name
        DecordInit()(dict(filename=str(bad)))
    assert 'broken_clip' not in str(stock.value)
    for path in (bad, empty):
        with pytest.raises(VideoReadError, match=str(path)) as err:
            TADDecordInit()(dict(filename=str(path), video_name='vid7'))
        assert "'vid7'" in str(err.value)
    missing = str(tmp_path / 'nowhere.mp4')
    with pytest.raises(FileNotFoundError, match=missing):
        TADDecordInit()(dict(filename=missing, video_name='vid7'))


# ----------------------------------------------------------------- datasets
def _video_folder(tmp_path, names):
    folder = tmp_path / 'videos'
    folder.mkdir()
    for name, src in names.items():
        os.symlink(src, folder / f'{name}.mp4')
    return folder


def _anet_json(tmp_path):
    db = {
        'vidA': dict(subset='training', duration=10.0, annotations=[
            dict(segment=[1.0, 4.0], label='Jump'), dict(segment=[6.0, 12.0], label='Run')]),
        'vidB': dict(subset='training', duration=10.7, annotations=[
            dict(segment=[0.0, 5.35], label='Run')]),
        'vidC': dict(subset='validation', duration=10.0, annotations=[]),
    }
    return write_json(str(tmp_path / 'anet.json'), dict(version='t', database=db))


def test_activitynet_video_dataset(tmp_path):
    ann = _anet_json(tmp_path)
    _video_folder(tmp_path, {'v_vidA': DEMO, 'vidB': TEST, 'vidC': DEMO})
    m, t = 8, 2
    with pytest.warns(TADAnnotationWarning, match='clipped'):
        ds = DATASETS.build(dict(type='ActivityNetVideoDataset', data_root=str(tmp_path),
                                 ann_file='anet.json', data_prefix=dict(video='videos'),
                                 subset='training', num_snippets=m, pipeline=pipeline(
                                     m, t, init='TADDecordInit', decode='TADDecordDecode')))
    assert isinstance(ds, ActivityNetVideoDataset) and len(ds) == 2
    assert ds.metainfo['classes'] == ('Jump', 'Run')
    info = ds.get_data_info(0)
    assert info['filename'].endswith(osp.join('videos', 'v_vidA.mp4'))
    np.testing.assert_allclose(info['gt_segments'], [[0.8, 3.2], [4.8, 8.0]], rtol=1e-6)
    item = ds[0]
    assert tuple(item['inputs'].shape) == (m, 3, t, 56, 56)
    meta = item['data_samples'].metainfo
    assert meta['video_name'] == 'vidA' and meta['sample_idx'] == 0
    assert meta['num_snippets'] == m and meta['window_start'] == 0.0
    assert meta['duration'] == 10.0 and meta['snippet_seconds'] == pytest.approx(10.0 / m)
    assert meta['gt_video'] == [[1.0, 4.0, 'Jump'], [6.0, 10.0, 'Run']]   # clipped
    assert item['data_samples'].gt_instances.labels.tolist() == [0, 1]
    b = ds[1]['data_samples']
    np.testing.assert_allclose(b.gt_instances.segments.numpy(), [[0.0, 4.0]], rtol=1e-6)
    # validation, test mode: video without annotations kept; default pipeline builds
    val = ActivityNetVideoDataset(ann_file=ann, data_prefix=dict(video=str(tmp_path / 'videos')),
                                  subset='validation', test_mode=True, num_snippets=m)
    assert len(val) == 1 and val.get_data_info(0)['gt_segments'].shape == (0, 2)


def test_thumos_video_dataset_windows(tmp_path):
    db = {'video_validation_1': dict(subset='validation', duration=10.0, fps=28.0, annotations=[
              dict(segment=[0.5, 1.5], label='Jump')]),
          'video_validation_2': dict(subset='validation', duration=10.0, fps=30.0,
                                     annotations=[dict(segment=[8.0, 9.0], label='Run')])}
    write_json(str(tmp_path / 'thumos.json'), dict(database=db))
    _video_folder(tmp_path, {'video_validation_1': DEMO, 'video_validation_2': TEST})
    m, t = 16, 2
    common = dict(data_root=str(tmp_path), ann_file='thumos.json',
                  data_prefix=dict(video='videos'), window_size=m, window_stride=8,
                  snippet_stride=4, subset='validation')
    train = ThumosVideoDataset(pipeline=pipeline(m, t, init='TADDecordInit',
                                                 decode='TADDecordDecode'), **common)
    test = ThumosVideoDataset(pipeline=pipeline(m, t, random_crop=False, flip=0.0),
                              test_mode=True, **common)
    # demo: 280 frames -> 70 snippets; test: 300 frames -> 75 snippets
    starts = {}
    for i in range(len(test)):
        info = test.get_data_info(i)
        starts.setdefault(info['video_name'], []).append(info['window_start_idx'])
    assert starts == {'video_validation_1': [0, 8, 16, 24, 32, 40, 48, 54],
                      'video_validation_2': [0, 8, 16, 24, 32, 40, 48, 56, 59]}
    assert len(train) == 4 and len(test) == 17      # windows 0 | 48, 56, 59
    for i in range(len(train)):                       # only windows with actions
        info = train.get_data_info(i)
        assert len(info['gt_segments']) > 0
        assert info['gt_segments'].min() >= 0 and info['gt_segments'].max() <= m
        sec = info['window_start'] + info['gt_segments'] * info['snippet_seconds']
        (s, e), = info['gt_segments_sec']                # inside the video's action
        assert sec.min() >= s - 1e-4 and sec.max() <= e + 1e-4
    item = train[0]
    assert tuple(item['inputs'].shape) == (m, 3, t, 56, 56)
    meta = item['data_samples'].metainfo
    assert meta['num_snippets'] == m and meta['snippet_seconds'] == pytest.approx(4 / 28)
    assert meta['video_name'] == 'video_validation_1' and meta['duration'] == 10.0
    # last test window of video 2: snippet 0 at frame 59 * 4; predictions map back
    last = test[len(test) - 1]
    meta = last['data_samples'].metainfo
    assert meta['window_start'] == pytest.approx(59 * 4 / 30)
    assert tuple(last['inputs'].shape) == (m, 3, t, 56, 56)
    np.testing.assert_allclose(last['data_samples'].gt_instances.segments.numpy(),
                               [[(8.0 - 59 * 4 / 30) * 30 / 4, (9.0 - 59 * 4 / 30) * 30 / 4]],
                               rtol=1e-5)


@pytest.mark.filterwarnings('ignore::etad_mmaction.datasets.TADAnnotationWarning')
def test_missing_video_file_names_file_and_video(tmp_path):
    ann = _anet_json(tmp_path)
    _video_folder(tmp_path, {'vidA': DEMO})
    with pytest.raises(FileNotFoundError, match=r"'vidB'.*vidB\.mp4"):
        ActivityNetVideoDataset(ann_file=ann, data_prefix=dict(video=str(tmp_path / 'videos')),
                                subset='training', num_snippets=8)
    with pytest.raises(FileNotFoundError, match='video folder not found'):
        ActivityNetVideoDataset(ann_file=ann, data_prefix=dict(video=str(tmp_path / 'nope')),
                                subset='training', num_snippets=8)
