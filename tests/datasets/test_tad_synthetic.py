"""Semi-synthetic generator: statistics, determinism, overwrite protection,
atomicity, concurrent first use, MMAction2 BMN output."""
import json
import multiprocessing as mp
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from etad_mmaction.datasets import ActivityNetFeatureDataset, synthetic
from etad_mmaction.datasets.synthetic import (ensure_synthetic_dataset,
                                              generate_synthetic_dataset)
from etad_mmaction.datasets.windows import rescale_features

from tad_helpers import ANET_ANNO, ANET_INFO, THUMOS_ANNO

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMALL = dict(num_train=6, num_val=4, num_classes=5, feature_dim=12, progress=False)


def _files(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = osp.join(d, f)
            with open(p, 'rb') as fh:
                out[osp.relpath(p, root)] = fh.read()
    return out


def test_layout_and_statistics(tmp_path):
    root = generate_synthetic_dataset(str(tmp_path / 'syn'), num_train=150, num_val=50,
                                      feature_dim=4, num_classes=7, write_bmn=False,
                                      classifier_top1=0.8, progress=False)
    with open(osp.join(root, 'gt.json')) as f:
        gt = json.load(f)
    with open(osp.join(root, 'meta.json')) as f:
        meta = json.load(f)
    assert meta['version'] == synthetic.GENERATOR_VERSION
    assert meta['params']['num_train'] == 150
    assert not osp.exists(osp.join(root, 'mmaction2'))
    db = gt['database']
    assert gt['classes'] == [f'action_{i:03d}' for i in range(7)]
    subsets = [v['subset'] for v in db.values()]
    assert subsets.count('training') == 150 and subsets.count('validation') == 50
    counts, cover = [], []
    for vid, v in db.items():
        d = v['duration']
        assert 10 <= d <= 240
        segs = [a['segment'] for a in v['annotations']]
        counts.append(len(segs))
        assert all(0 <= s < e <= d for s, e in segs)
        assert len({a['label'] for a in v['annotations']}) == 1
        cover.append(sum(e - s for s, e in segs) / d)
        feat = np.load(osp.join(root, 'features', f'v_{vid}.npy'))
        assert feat.dtype == np.float32 and feat.shape == (max(2, round(d / 1.0)), 4)
    assert min(counts) >= 1 and max(counts) <= 6 and len(set(counts)) >= 3
    assert 0.55 < np.mean(cover) < 0.75
    with open(osp.join(root, 'classifier.json')) as f:
        cls = json.load(f)
    assert cls['class'] == gt['classes']
    top1 = np.mean([np.argmax(cls['results'][vid]) ==
                    gt['classes'].index(db[vid]['annotations'][0]['label']) for vid in db])
    assert 0.7 < top1 < 0.9


def test_features_carry_signal(tmp_path):
    """Actions are separable from background on average (a mean-difference
    direction learnt on half of the videos ranks held-out snippets well) but
    single snippets are noisy (far from perfect)."""
    root = generate_synthetic_dataset(str(tmp_path / 'syn'), num_train=40, num_val=0,
                                      write_bmn=False, progress=False)
    with open(osp.join(root, 'gt.json')) as f:
        db = json.load(f)['database']
    data = []
    for vid, v in db.items():
        feat = np.load(osp.join(root, 'features', f'v_{vid}.npy'))
        feat = feat - feat.mean(0)
        t = (np.arange(len(feat)) + 0.5) * v['duration'] / len(feat)
        label = np.zeros(len(feat), bool)
        for s, e in (a['segment'] for a in v['annotations']):
            label |= (t >= s) & (t < e)
        data.append((feat, label))
    fit, held = data[:20], data[20:]
    x = np.concatenate([f for f, _ in fit])
    y = np.concatenate([lab for _, lab in fit])
    direction = x[y].mean(0) - x[~y].mean(0)
    score = np.concatenate([f @ direction for f, _ in held])
    label = np.concatenate([lab for _, lab in held])
    pos, neg = score[label], score[~label]
    auc = (pos[:, None] > neg[None, :]).mean()
    assert 0.7 < auc < 0.99


def test_deterministic_and_seed_dependent(tmp_path):
    a = generate_synthetic_dataset(str(tmp_path / 'a'), seed=3, **SMALL)
    b = generate_synthetic_dataset(str(tmp_path / 'b'), seed=3, **SMALL)
    c = generate_synthetic_dataset(str(tmp_path / 'c'), seed=4, **SMALL)
    fa, fb, fc = _files(a), _files(b), _files(c)
    assert sorted(fa) == sorted(fb) and len(fa) > 10
    assert all(fa[k] == fb[k] for k in fa)
    assert fa['gt.json'] != fc['gt.json']


def test_refuses_overwrite_and_overwrites(tmp_path):
    root = str(tmp_path / 'syn')
    generate_synthetic_dataset(root, seed=1, **SMALL)
    before = _files(root)
    with pytest.raises(FileExistsError, match='overwrite'):
        generate_synthetic_dataset(root, seed=2, **SMALL)
    assert _files(root) == before
    generate_synthetic_dataset(root, seed=2, overwrite=True, **SMALL)
    assert _files(root)['gt.json'] != before['gt.json']
    assert sorted(os.listdir(tmp_path)) == ['syn']  # no temporary folders left


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    calls = {'n': 0}
    original = synthetic.features._video_features

    def flaky(*args, **kwargs):
        calls['n'] += 1
        if calls['n'] == 4:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(synthetic.features, '_video_features', flaky)
    with pytest.raises(KeyboardInterrupt):
        generate_synthetic_dataset(str(tmp_path / 'syn'), **SMALL)
    assert os.listdir(tmp_path) == []


def test_ensure_generates_once_and_checks_params(tmp_path):
    root = str(tmp_path / 'syn')
    params = dict(SMALL)
    params.pop('progress')
    ensure_synthetic_dataset(root, progress=False, **params)
    stamp = os.stat(osp.join(root, 'meta.json')).st_mtime_ns
    ensure_synthetic_dataset(root, progress=False, **params)
    assert os.stat(osp.join(root, 'meta.json')).st_mtime_ns == stamp
    with pytest.raises(ValueError, match='other parameters'):
        ensure_synthetic_dataset(root, progress=False, **dict(params, seed=9))
    other = tmp_path / 'not_synthetic'
    other.mkdir()
    with pytest.raises(FileExistsError):
        ensure_synthetic_dataset(str(other), progress=False, **params)


def _ensure_worker(root, params, queue):
    try:
        ensure_synthetic_dataset(root, progress=False, **params)
        queue.put('ok')
    except Exception as exc:  # pragma: no cover - reported to the parent
        queue.put(repr(exc))


@pytest.mark.skipif(sys.platform == 'win32', reason='fork start method')
def test_ensure_concurrent_processes(tmp_path):
    root = str(tmp_path / 'syn')
    params = dict(SMALL)
    params.pop('progress')
    ctx = mp.get_context('fork')
    queue = ctx.Queue()
    procs = [ctx.Process(target=_ensure_worker, args=(root, params, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [queue.get(timeout=5) for _ in procs] == ['ok'] * 3
    assert sorted(os.listdir(tmp_path)) == ['syn', 'syn.lock']
    reference = generate_synthetic_dataset(str(tmp_path / 'ref'), **SMALL)
    assert _files(root) == _files(reference)


def test_dataset_generates_on_first_use(tmp_path):
    root = str(tmp_path / 'syn')
    cfg = dict(ann_file='gt.json', data_root=root, data_prefix=dict(feature='features'),
               feature_dim=12, num_snippets=64, classifier_file='classifier.json',
               synthetic=dict(num_train=6, num_val=4, num_classes=5, feature_dim=12,
                              progress=False))
    train = ActivityNetFeatureDataset(subset='training', **cfg)
    val = ActivityNetFeatureDataset(subset='validation', test_mode=True, **cfg)
    assert len(train) == 6 and len(val) == 4
    assert train[0]['inputs'].shape == (12, 64)
    assert train.metainfo['classes'] == tuple(f'action_{i:03d}' for i in range(5))


def test_bmn_output_with_stock_mmaction2(tmp_path):
    from mmaction.datasets import ActivityNetDataset
    from mmaction.datasets.transforms import (GenerateLocalizationLabels,
                                              LoadLocalizationFeature,
                                              PackLocalizationInputs)
    root = generate_synthetic_dataset(str(tmp_path / 'syn'), **SMALL)
    pipeline = [LoadLocalizationFeature(), GenerateLocalizationLabels(),
                PackLocalizationInputs(keys=('gt_bbox',),
                                       meta_keys=('video_name', 'duration_second'))]
    with open(osp.join(root, 'gt.json')) as f:
        db = json.load(f)['database']
    for split, n in (('train', 6), ('val', 4), ('full', 10)):
        ds = ActivityNetDataset(ann_file=osp.join(root, 'mmaction2', f'anet_anno_{split}.json'),
                                data_prefix=dict(video=osp.join(root, 'mmaction2',
                                                                'csv_mean_100')),
                                pipeline=pipeline, test_mode=split != 'train')
        assert len(ds) == n
        for i in range(n):
            item = ds[i]
            sample = item['data_samples']
            vid = sample.video_name[2:]
            assert item['inputs'].shape == (12, 100)
            npy = np.load(osp.join(root, 'features', f'v_{vid}.npy'))
            assert np.allclose(item['inputs'].numpy(), rescale_features(npy.T, 100),
                               atol=1e-4)
            d = db[vid]['duration']
            expected = np.array([a['segment'] for a in db[vid]['annotations']]) / d
            assert np.allclose(sample.gt_instances.gt_bbox.numpy(), expected, atol=1e-6)


def test_real_thumos_ground_truth(tmp_path):
    root = generate_synthetic_dataset(str(tmp_path / 'syn'), annotation_file=THUMOS_ANNO,
                                      num_train=5, num_val=3, feature_dim=8,
                                      seconds_per_feature=4 / 30, progress=False)
    with open(osp.join(root, 'gt.json')) as f:
        gt = json.load(f)
    with open(THUMOS_ANNO) as f:
        real = json.load(f)['database']
    assert len(gt['classes']) == 20 and gt['classes'][0] == 'BaseballPitch'
    subsets = {v['subset'] for v in gt['database'].values()}
    assert subsets == {'training', 'validation'}
    for vid, v in gt['database'].items():
        src = real[vid]
        assert src['subset'] == ('Validation' if v['subset'] == 'training' else 'Test')
        assert [a['segment'] for a in v['annotations']] == [
            a['segment'] for a in src['annotations'] if a['segment'][1] > a['segment'][0]]
        feat = np.load(osp.join(root, 'features', f'v_{vid}.npy'))
        assert feat.shape[0] == round(src['duration'] / (4 / 30))


def test_real_activitynet_ground_truth(tmp_path):
    root = generate_synthetic_dataset(str(tmp_path / 'syn'), annotation_file=ANET_ANNO,
                                      subset_file=ANET_INFO, num_train=4, num_val=3,
                                      feature_dim=6, progress=False)
    with open(osp.join(root, 'gt.json')) as f:
        gt = json.load(f)
    with open(ANET_ANNO) as f:
        real = json.load(f)
    assert len(gt['classes']) == 200
    for vid, v in gt['database'].items():
        src = real['v_' + vid]
        d = src['duration_second']
        assert v['duration'] == d and len(v['annotations']) >= 1
        segs = [[max(0.0, s), min(d, e)] for s, e in (a['segment'] for a in src['annotations'])]
        assert [a['segment'] for a in v['annotations']] == [s for s in segs if s[1] > s[0]]
    with open(osp.join(root, 'mmaction2', 'anet_anno_val.json')) as f:
        assert len(json.load(f)) == 3
    ds = ActivityNetFeatureDataset(ann_file='gt.json', data_root=root, subset='training',
                                   data_prefix=dict(feature='features'), feature_dim=6,
                                   classifier_file='classifier.json')
    assert len(ds) == 4 and ds[0]['inputs'].shape == (6, 128)


def test_cli(tmp_path):
    from etad_mmaction.testing import load_tool
    cli = load_tool('data/generate_synthetic.py')
    root = str(tmp_path / 'cli')
    cli.main([root, '--num-train', '3', '--num-val', '2', '--num-classes', '4',
              '--feature-dim', '8', '--no-write-bmn', '--no-progress', '--seed', '5'])
    with open(osp.join(root, 'meta.json')) as f:
        meta = json.load(f)
    assert meta['params']['seed'] == 5 and meta['params']['write_bmn'] is False
    with pytest.raises(FileExistsError):
        cli.main([root, '--no-progress'])
    cli.main([root, '--overwrite', '--no-progress', '--num-train', '2', '--num-val', '1',
              '--feature-dim', '8'])


@pytest.mark.slow
def test_generation_removes_dead_runs_leftovers_and_keeps_the_umask(tmp_path):
    import os
    import subprocess
    import sys
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True).stdout.strip()   # exited
    stale = tmp_path / f'.syn.tmp-{dead}-abc'
    stale.mkdir()
    (stale / 'part.npy').write_bytes(b'x')
    live = tmp_path / f'.syn.tmp-{os.getpid()}-def'                  # a live generator's
    live.mkdir()
    old = os.umask(0o022)
    try:
        root = synthetic.generate_synthetic_dataset(str(tmp_path / 'syn'), progress=False,
                                                    num_train=2, num_val=1, num_classes=2,
                                                    feature_dim=4, write_bmn=False)
    finally:
        os.umask(old)
    assert not stale.exists() and live.exists()
    assert os.stat(root).st_mode & 0o777 == 0o755


def test_overwrite_replaces_only_generated_folders(tmp_path):
    """Issue 24.7: --overwrite removed any folder at ROOT (one holding thesis.txt)."""
    root = tmp_path / 'mine'
    root.mkdir()
    (root / 'thesis.txt').write_text('years of work')
    proc = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools', 'data',
                                                    'generate_synthetic.py'), str(root),
                           '--overwrite', '--no-progress', '--num-train', '2', '--num-val', '1',
                           '--feature-dim', '4', '--no-write-bmn'],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert f'{root} exists and is not a dataset this generator made' in proc.stderr
    assert (root / 'thesis.txt').read_text() == 'years of work'
    (root / 'meta.json').write_text('{"generator": "someone else"}')   # not ours either
    with pytest.raises(FileExistsError, match='not a dataset this generator made'):
        generate_synthetic_dataset(str(root), overwrite=True, **SMALL)
    afile = tmp_path / 'afile'
    afile.write_text('x')
    with pytest.raises(FileExistsError, match='afile exists and is not a dataset'):
        generate_synthetic_dataset(str(afile), overwrite=True, **SMALL)
    assert sorted(os.listdir(tmp_path)) == ['afile', 'mine'] and afile.read_text() == 'x'


def test_no_training_videos_is_refused(tmp_path):
    """Issue 24.4: a dataset without training videos trains nothing; refused unless asked."""
    from etad_mmaction.testing import load_tool
    cli = load_tool('data/generate_synthetic.py')
    root = str(tmp_path / 'syn')
    args = [root, '--num-train', '0', '--num-val', '2', '--num-classes', '2', '--feature-dim',
            '4', '--no-write-bmn', '--no-progress']
    with pytest.raises(ValueError, match=r'without training videos \(num_train is 0\).*'
                       '--num-train.*--allow-no-train'):
        cli.main(args)
    one = tmp_path / 'one_video.json'       # one annotated video: half of it is 0 videos
    one.write_text(json.dumps(dict(database=dict(x=dict(
        subset='validation', duration=10.0, annotations=[dict(segment=[1, 3], label='A')])))))
    with pytest.raises(ValueError, match=r'\(none chosen from .*one_video.json\)'):
        generate_synthetic_dataset(root, annotation_file=str(one), num_train=None,
                                   feature_dim=4, write_bmn=False, progress=False)
    assert os.listdir(tmp_path) == ['one_video.json']
    cli.main(args + ['--allow-no-train'])
    with open(osp.join(root, 'meta.json')) as f:
        assert json.load(f)['videos'] == {'training': [], 'validation': ['synv000000',
                                                                         'synv000001']}


def test_relative_root_logs_the_absolute_path(tmp_path, monkeypatch):
    """Issue 24.9: a relative data_root from another working directory generated a
    second dataset there, silently. Generating now says where and why."""
    from mmengine.logging import MMLogger
    log_file = tmp_path / 'log.txt'
    MMLogger.get_instance(f'syn_rel_{id(tmp_path)}', log_file=str(log_file))
    monkeypatch.chdir(tmp_path)
    params = dict(SMALL)
    params.pop('progress')
    ensure_synthetic_dataset(osp.join('data', 'syn'), progress=False, **params)
    text = log_file.read_text()
    assert (f'WARNING - generating a synthetic feature dataset at {tmp_path}/data/syn '
            "(nothing there yet): data_root 'data/syn' is relative to the working directory "
            f'{tmp_path}') in text
    ensure_synthetic_dataset(osp.join('data', 'syn'), progress=False, **params)
    assert log_file.read_text() == text          # found, nothing generated, nothing said
