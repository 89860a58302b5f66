"""ActivityNet / HACS feature datasets: annotation formats, feature formats,
rescaling, ground-truth conversion, classifier scores."""
import csv
import json
import os.path as osp

import numpy as np
import pytest
import torch

from etad_mmaction.datasets import (ActivityNetFeatureDataset, HACSFeatureDataset,
                                    parse_annotation_file)
from etad_mmaction.datasets.windows import (interpolate_features, rescale_features,
                                           seconds_to_snippets)

from tad_helpers import (ANET_ANNO, ANET_BLOCKED, ANET_CLASSES, ANET_INFO, COUNTS,
                         MMA_FEATURES, write_json, write_npy_features)


# ----------------------------------------------------------------------------- real files
def test_parse_real_activitynet_subsets():
    records, classes = parse_annotation_file(ANET_ANNO, ANET_INFO)
    counts = COUNTS['activitynet']
    assert len(records) == counts['videos']
    assert classes is None  # BSN format has no class order: sorted names are used
    count = {}
    for r in records:
        n, k = count.get(r.subset, (0, 0))
        count[r.subset] = (n + 1, k + len(r.segments))
    for subset in ('training', 'validation', 'testing'):
        assert count[subset] == (counts[subset]['videos'], counts[subset]['instances'])
    assert count['testing'][1] == 0
    assert any(r.raw_id.startswith('v_v_') for r in records)  # the subset keeps them
    assert all(not r.video_name.startswith('v_') or r.raw_id.startswith('v_v_')
               for r in records)


def test_real_activitynet_subset_loader(tmp_path):
    with open(ANET_ANNO) as f:
        full = json.load(f)
    with open(ANET_INFO) as f:
        subset_of = {row['video']: row['subset'] for row in csv.DictReader(f)}
    with open(ANET_BLOCKED) as f:
        blocked = set(json.load(f))
    train = [k for k in full if subset_of[k] == 'training'][:20]
    val = [k for k in full if subset_of[k] == 'validation'][:10]
    val_blocked = [k for k in full if subset_of[k] == 'validation' and k[2:] in blocked][:2]
    testing = [k for k in full if subset_of[k] == 'testing'][:3]
    assert val_blocked
    keys = train + val + val_blocked + testing
    ann = write_json(tmp_path / 'anno.json', {k: full[k] for k in keys})
    rng = np.random.default_rng(0)
    lengths = {k: int(rng.integers(20, 300)) for k in keys}
    # BSN naming: files are v_<id>.npy with the key as written in the annotation
    write_npy_features(str(tmp_path / 'feat'), {k: n for k, n in lengths.items()}, 16, prefix='')
    common = dict(ann_file=ann, subset_file=ANET_INFO, classes=ANET_CLASSES,
                  data_prefix=dict(feature=str(tmp_path / 'feat')), feature_dim=16)
    ds = ActivityNetFeatureDataset(subset='training', **common)
    assert len(ds) == 20
    classes = ds.metainfo['classes']
    assert len(classes) == 200 and classes[0] == 'Applying sunscreen'
    item = ds[3]
    vid = train[3]
    sample = item['data_samples']
    assert sample.video_name == vid[2:]
    assert item['inputs'].shape == (16, 128)
    info = full[vid]
    dur = info['duration_second']
    seg = np.array([a['segment'] for a in info['annotations']], dtype=np.float64)
    expected = np.clip(seg / dur * 128, 0, 128)
    assert np.allclose(sample.gt_instances.segments.numpy(), expected, atol=1e-4)
    labels = [classes[i] for i in sample.gt_instances.labels.tolist()]
    assert labels == [a['label'] for a in info['annotations']]
    assert sample.snippet_seconds == pytest.approx(dur / 128)

    val_ds = ActivityNetFeatureDataset(subset='validation', test_mode=True,
                                       exclude_videos=ANET_BLOCKED, **common)
    names = {val_ds.get_data_info(i)['video_name'] for i in range(len(val_ds))}
    assert names == {k[2:] for k in val} - blocked
    assert not names & {k[2:] for k in val_blocked}
    # testing videos have no annotations: skipped for training, kept for evaluation
    test_train = ActivityNetFeatureDataset(subset='testing', **common)
    assert len(test_train) == 0
    test_eval = ActivityNetFeatureDataset(subset='testing', test_mode=True, **common)
    assert len(test_eval) == 3
    assert test_eval[0]['data_samples'].gt_instances.segments.shape == (0, 2)


def test_mmaction2_csv_features(tmp_path):
    ann = write_json(tmp_path / 'anno.json', {
        'v_test1': {'duration_second': 10.0, 'duration_frame': 300, 'feature_frame': 300,
                    'annotations': [{'segment': [1.0, 4.0], 'label': 'a'}]},
        'v_test2': {'duration_second': 20.0, 'duration_frame': 600, 'feature_frame': 600,
                    'annotations': [{'segment': [2.0, 18.0], 'label': 'b'}]},
    })
    ds = ActivityNetFeatureDataset(ann_file=ann, data_prefix=dict(feature=MMA_FEATURES),
                                   feature_ext='.csv', feature_dim=400, num_snippets=16)
    assert len(ds) == 2
    for i, name in enumerate(('test1', 'test2')):
        raw = np.loadtxt(osp.join(MMA_FEATURES, f'v_{name}.csv'), delimiter=',', skiprows=1)
        item = ds[i]
        assert item['data_samples'].video_name == name
        assert item['inputs'].shape == (400, 16)
        expected = rescale_features(raw.T.astype(np.float32), 16)
        assert np.allclose(item['inputs'].numpy(), expected, atol=1e-5)


# ----------------------------------------------------------------------------- formats
def test_feature_formats_agree(small_anet, tmp_path):
    import h5py
    feats = small_anet['feats']
    pt_dir, csv_dir, ct_dir = tmp_path / 'pt', tmp_path / 'csv', tmp_path / 'ct'
    for d in (pt_dir, csv_dir, ct_dir):
        d.mkdir()
    with h5py.File(tmp_path / 'feats.h5', 'w') as h5:
        for vid, f in feats.items():
            torch.save(torch.from_numpy(f), pt_dir / f'{vid}.pt')  # no v_ prefix
            header = ','.join(f'f{i}' for i in range(f.shape[1]))
            np.savetxt(csv_dir / f'v_{vid}.csv', f, delimiter=',', header=header,
                       comments='', fmt='%.9g')
            np.save(ct_dir / f'v_{vid}.npy', f.T)
            h5.create_dataset(vid, data=f)
    variants = [
        dict(data_prefix=dict(feature=small_anet['feat_dir'])),
        dict(data_prefix=dict(feature=str(pt_dir)), feature_ext='.pt'),
        dict(data_prefix=dict(feature=str(csv_dir)), feature_ext='.csv'),
        dict(data_prefix=dict(feature=str(ct_dir)), feature_layout='CT'),
        dict(data_prefix=dict(feature=str(tmp_path / 'feats.h5'))),
    ]
    outputs = []
    for v in variants:
        ds = ActivityNetFeatureDataset(ann_file=small_anet['ann'], feature_dim=8,
                                       num_snippets=32, **v)
        outputs.append([ds[i]['inputs'].numpy() for i in range(len(ds))])
    for out in outputs[1:]:
        for a, b in zip(outputs[0], out):
            assert np.allclose(a, b, atol=1e-6)


def test_relative_paths_and_classes_file(small_anet, tmp_path):
    (tmp_path / 'classes.txt').write_text('Run\nJump\nSwim\n')
    ds = ActivityNetFeatureDataset(ann_file='gt.json', data_root=small_anet['root'],
                                   data_prefix=dict(feature='feat'), classes='classes.txt',
                                   subset='training')
    assert ds.metainfo['classes'] == ('Run', 'Jump', 'Swim')
    sample = ds[0]['data_samples']
    assert sample.gt_instances.labels.tolist() == [1, 0]
    assert len(ds) == 2
    ds2 = ActivityNetFeatureDataset(ann_file='gt.json', data_root=small_anet['root'],
                                    data_prefix=dict(feature='feat'))
    assert ds2.metainfo['classes'] == ('Jump', 'Run')  # sorted names by default


# ----------------------------------------------------------------------------- rescaling
def test_interpolation_hand_case():
    f = np.array([[0.0, 1.0, 2.0, 3.0]], dtype=np.float32)
    up = interpolate_features(f, 8)
    assert np.allclose(up, [[0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3]])
    down = interpolate_features(f, 2)
    assert np.allclose(down, [[0.5, 2.5]])
    ref = torch.nn.functional.interpolate(torch.from_numpy(f)[None], size=8, mode='linear',
                                          align_corners=False)[0].numpy()
    assert np.allclose(up, ref)
    corners = interpolate_features(f, 7, align_corners=True)
    assert np.allclose(corners, [[0, 0.5, 1, 1.5, 2, 2.5, 3]])
    same = interpolate_features(f, 4)
    assert np.array_equal(same, f)
    # a linear ramp in time stays linear in the interior
    ramp = np.arange(10, dtype=np.float32)[None]
    out = interpolate_features(ramp, 5)
    assert np.allclose(out, [[0.5, 2.5, 4.5, 6.5, 8.5]])


def test_gt_conversion_and_metainfo(small_anet):
    ds = ActivityNetFeatureDataset(ann_file=small_anet['ann'],
                                   data_prefix=dict(feature=small_anet['feat_dir']),
                                   num_snippets=128, subset='training')
    item = ds[0]
    s = item['data_samples']
    assert s.video_name == 'vidA'
    assert np.allclose(s.gt_instances.segments.numpy(), [[12.8, 38.4], [64.0, 115.2]],
                       atol=1e-4)
    assert s.snippet_seconds == pytest.approx(100 / 128)
    assert s.window_start == 0.0 and s.num_snippets == 128 and s.duration == 100.0
    back = s.window_start + s.gt_instances.segments.numpy() * s.snippet_seconds
    assert np.allclose(back, [[10, 30], [50, 90]], atol=1e-4)
    assert s.gt_video == [[10.0, 30.0, 'Jump'], [50.0, 90.0, 'Run']]
    # the whole-video segment of vidB covers all snippets
    assert np.allclose(ds[1]['data_samples'].gt_instances.segments.numpy(), [[0, 128]])
    segs, keep = seconds_to_snippets(np.array([[-1.0, 5.0], [3.0, 3.0]]), 10.0, 100)
    assert np.allclose(segs, [[0, 50]]) and keep.tolist() == [0]


def test_hacs_defaults_to_224(small_anet):
    ds = HACSFeatureDataset(ann_file=small_anet['ann'],
                            data_prefix=dict(feature=small_anet['feat_dir']))
    assert ds[0]['inputs'].shape == (8, 224)
    assert ds[0]['data_samples'].num_snippets == 224


def test_custom_pipeline_from_config(small_anet):
    pipeline = [dict(type='LoadTADFeature', feature_dim=8),
                dict(type='ResizeTADFeature', num_snippets=20),
                dict(type='PackTADInputs')]
    ds = ActivityNetFeatureDataset(ann_file=small_anet['ann'], pipeline=pipeline,
                                   data_prefix=dict(feature=small_anet['feat_dir']))
    assert ds[2]['inputs'].shape == (8, 20)
    assert ds[2]['data_samples'].num_snippets == 20


# ----------------------------------------------------------------------------- classifier
def test_classifier_formats(small_anet, tmp_path):
    classes = ['Jump', 'Run']
    cuhk = write_json(tmp_path / 'cuhk.json', {
        'results': {'vidA': [0.2, 0.8], 'v_vidB': [0.6, 0.4], 'vidC': [0.9, 0.1]},
        'class': ['Run', 'Jump']})  # other order: reordered by name
    common = dict(ann_file=small_anet['ann'], data_prefix=dict(feature=small_anet['feat_dir']))
    ds = ActivityNetFeatureDataset(classifier_file=cuhk, **common)
    assert ds.metainfo['classes'] == tuple(classes)
    got = {ds[i]['data_samples'].video_name: ds[i]['data_samples'].classifier_scores
           for i in range(3)}
    assert np.allclose(got['vidA'], [0.8, 0.2]) and np.allclose(got['vidB'], [0.4, 0.6])
    assert got['vidC'].dtype == np.float32 and got['vidC'].shape == (2,)

    np.savez(tmp_path / 'unet.npz', scores=np.array([[1, 2], [3, 4], [5, 6]], np.float32),
             videos=np.array(['vidC', 'vidB', 'vidA']))
    ds = ActivityNetFeatureDataset(classifier_file=str(tmp_path / 'unet.npz'), **common)
    assert np.allclose(ds[0]['data_samples'].classifier_scores, [5, 6])

    np.save(tmp_path / 'unet.npy', np.array([[1, 2], [3, 4], [5, 6]], np.float32))
    (tmp_path / 'unet_videos.txt').write_text('v_vidA\nvidB\nvidC\n')
    ds = ActivityNetFeatureDataset(classifier_file=str(tmp_path / 'unet.npy'),
                                   classifier_index=str(tmp_path / 'unet_videos.txt'), **common)
    assert np.allclose(ds[2]['data_samples'].classifier_scores, [5, 6])
    assert 'classifier_scores' not in ActivityNetFeatureDataset(**common)[0][
        'data_samples'].metainfo


def test_average_rescale_equals_exact_bin_means():
    from etad_mmaction.datasets.windows import average_features
    rng = np.random.default_rng(0)
    f = rng.normal(size=(3, 12)).astype(np.float32)
    # L = 3T: plain means of three snippets
    assert np.allclose(rescale_features(f, 4), f.reshape(3, 4, 3).mean(-1), atol=1e-6)
    # L = 12, T = 5: bin j covers [2.4 j, 2.4 (j + 1)); bin 0 = (x0 + x1 + 0.4 x2) / 2.4
    out = average_features(f, 5)
    assert np.allclose(out[:, 0], (f[:, 0] + f[:, 1] + 0.4 * f[:, 2]) / 2.4, atol=1e-6)
    assert np.allclose(out[:, 4], (0.4 * f[:, 9] + f[:, 10] + f[:, 11]) / 2.4, atol=1e-6)
    # every snippet contributes: the mean of the output equals the mean of the input
    for t in (5, 7, 11):
        assert np.allclose(average_features(f, t).mean(1), f.mean(1), atol=1e-5)
    # point sampling of an alternating sequence aliases; the bin average does not
    alt = np.tile([1.0, -1.0], 150)[None].astype(np.float32)         # L = 300
    assert np.abs(rescale_features(alt, 128)).max() < 0.5
    assert np.abs(rescale_features(alt, 128, mode='linear')).max() > 0.9
    # upsampling stays linear interpolation
    assert np.array_equal(rescale_features(f, 20), interpolate_features(f, 20))
    with pytest.raises(ValueError, match='rescale mode'):
        rescale_features(f, 4, mode='nearest')


@pytest.mark.parametrize('length', [50, 128, 300, 700])
def test_roi_align_rescale_equals_torchvision(length):
    """The authors' rescale: torchvision roi_align(aligned=True), float16-rounded."""
    torchvision = pytest.importorskip('torchvision')
    from etad_mmaction.datasets.windows import roi_align_features
    f = np.random.default_rng(length).normal(size=(4, length)).astype(np.float32)
    inp = torch.from_numpy(f)[None, :, :, None]
    box = torch.tensor([[0, 0, 0, 1, length]], dtype=torch.float64)
    ref = torchvision.ops.roi_align(inp.half().double(), box.half().double(),
                                    output_size=(128, 1), aligned=True)[0, :, :, 0]
    assert np.abs(roi_align_features(f, 128) - ref.float().numpy()).max() < 1e-6
    ref64 = torchvision.ops.roi_align(inp.double(), box, output_size=(128, 1), aligned=True)
    mine = roi_align_features(f, 128, round_to_half=False)
    assert np.abs(mine - ref64[0, :, :, 0].numpy()).max() < 1e-6
