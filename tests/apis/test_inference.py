"""etad_mmaction.apis: init_detector / inference_detector on a feature file (feature
config) and on a real video (end-to-end config), class-agnostic and with classifier
scores; checkpoints; errors that name the file."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

import etad_mmaction  # noqa: F401
from etad_mmaction.apis import inference_detector, init_detector
from etad_mmaction.testing import tiny_tsm_recognizer

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'configs', 'etad_tiny_synthetic.py')
DEMO = osp.join(ROOT, 'tests', 'data', 'videos', 'demo.mp4')  # real footage, tests/data


@pytest.fixture(scope='module')
def feature_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('feat') / 'v_demo.npy'
    rng = np.random.default_rng(0)
    np.save(path, rng.standard_normal((40, 32)).astype(np.float32))
    return str(path)


def _check(result, duration, agnostic):
    dets = result['detections']
    assert result['class_agnostic'] is agnostic and result['duration'] == pytest.approx(duration)
    assert dets, 'no detections'
    scores = [d['score'] for d in dets]
    assert scores == sorted(scores, reverse=True)
    for d in dets:
        s, e = d['segment']
        assert 0.0 <= s <= e <= duration + 1e-6


def test_features_class_agnostic_and_with_classifier(feature_file, tmp_path):
    torch.manual_seed(0)
    model = init_detector(TINY)
    res = inference_detector(model, feature_file, duration=80.0)
    _check(res, 80.0, True)
    assert {d['label'] for d in res['detections']} == {'action'}
    scores = [0.1, 0.7, 0.05, 0.1, 0.05]
    names = ['a', 'b', 'c', 'd', 'e']
    lab = inference_detector(model, feature_file, classifier=scores, class_names=names,
                             duration=80.0)
    _check(lab, 80.0, False)
    assert {d['label'] for d in lab['detections']} <= {'b', 'a', 'd'}
    best = lab['detections'][0]
    assert best['label'] == 'b'
    assert best['score'] == pytest.approx(res['detections'][0]['score'] * 0.7)
    # checkpoint round trip: the same detections from a fresh model
    ckpt = str(tmp_path / 'etad.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    torch.manual_seed(123)
    again = inference_detector(init_detector(TINY, ckpt), feature_file, duration=80.0)
    assert again['detections'] == res['detections']
    # a list of evaluators (TAD metric among others) is accepted
    cfg = Config.fromfile(TINY)
    cfg.test_evaluator = [dict(type='AccMetric'), dict(cfg.test_evaluator)]
    listed = inference_detector(init_detector(cfg, ckpt), feature_file, duration=80.0)
    assert listed['detections'] == res['detections']
    # a checkpoint that does not fit the model fails instead of leaving random weights
    partial = {k: v for k, v in model.state_dict().items() if 'boundary' not in k}
    assert len(partial) < len(model.state_dict())
    torch.save(dict(state_dict=partial, meta=dict()), str(tmp_path / 'partial.pth'))
    with pytest.raises(RuntimeError, match='missing'):
        init_detector(TINY, str(tmp_path / 'partial.pth'))


def test_errors_name_the_input(feature_file, tmp_path):
    model = init_detector(TINY)
    with pytest.raises(ValueError, match='duration'):
        inference_detector(model, feature_file)
    with pytest.raises(FileNotFoundError, match='missing.npy'):
        inference_detector(model, str(tmp_path / 'missing.npy'), duration=1.0)
    with pytest.raises(ValueError, match='end-to-end'):
        inference_detector(model, DEMO)
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        init_detector(TINY, str(tmp_path / 'nothing.pth'))


def _tiny_e2e_cfg():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'etad_e2e',
                                   'etad-e2e_tsm-r50-224-8f_4xb4-6e_anet.py'))
    cfg.model.encoder.pop('init_cfg')
    m, t = 8, 2
    cfg.merge_from_dict({
        'model.encoder.backbone.depth': 18, 'model.encoder.backbone.num_segments': t,
        'model.feature_channels': 512, 'model.detector.num_snippets': m,
        'model.detector.max_duration': m})
    pipe = [dict(type='TADDecordInit'), dict(type='SampleSnippets', clip_len=t),
            dict(type='TADDecordDecode'), dict(type='Resize', scale=(-1, 40)),
            dict(type='CenterCrop', crop_size=32), dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackTADInputs')]
    cfg.test_dataloader.dataset.update(pipeline=pipe, num_snippets=m)
    return cfg


def test_video_end_to_end(tmp_path):
    torch.manual_seed(0)
    model = init_detector(_tiny_e2e_cfg())
    res = inference_detector(model, DEMO, classifier=dict(scores=[0.2, 0.8],
                                                           classes=['x', 'y']))
    _check(res, 10.0, False)
    assert res['detections'][0]['label'] == 'y'
    bad = tmp_path / 'broken.mp4'
    bad.write_bytes(b'not a video at all' * 100)
    with pytest.raises(RuntimeError, match='broken.mp4'):
        inference_detector(model, str(bad))


@pytest.mark.slow
def test_demo_cli_writes_json_and_timeline(tmp_path):
    import json
    import subprocess
    import sys
    cfg = _tiny_e2e_cfg()
    cfg_path = str(tmp_path / 'tiny_e2e.py')
    cfg.dump(cfg_path)
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'e2e.pth')
    torch.save(dict(state_dict=init_detector(cfg).state_dict(), meta={}), ckpt)
    (tmp_path / 'scores.json').write_text(json.dumps(dict(scores=[0.3, 0.7],
                                                          classes=['Jump', 'Run'])))
    (tmp_path / 'gt.json').write_text(json.dumps(dict(database=dict(demo=dict(
        subset='validation', duration=10.0,
        annotations=[dict(segment=[2.0, 6.0], label='Run')])))))
    out_json, out_png = str(tmp_path / 'dets.json'), str(tmp_path / 'timeline.png')
    run = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'demo.py'), DEMO, cfg_path, ckpt,
         '--out-json', out_json, '--out-plot', out_png, '--scores', str(tmp_path / 'scores.json'),
         '--label-file', str(tmp_path / 'gt.json'), '--color-by', 'iou', '--top-k', '5'],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    with open(out_json) as f:
        res = json.load(f)
    assert not res['class_agnostic'] and res['detections'][0]['label'] == 'Run'
    with open(out_png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    import re
    rows = [line for line in run.stdout.splitlines()
            if re.fullmatch(r' *[0-9.]+ +[0-9.]+  [0-9.]+  \S+', line)]
    assert len(rows) == 5, run.stdout


def test_video_labels_from_an_mmaction2_recognizer(tmp_path):
    """classifier= a stock MMAction2 recognizer (init_recognizer) run on the same video."""
    from mmaction.apis import init_recognizer
    rec_cfg = Config(dict(
        default_scope='mmaction',
        model=tiny_tsm_recognizer(3, mean=[128.0] * 3, std=[64.0] * 3),
        test_pipeline=[  # what mmaction.apis.inference_recognizer runs
            dict(type='DecordInit'),
            dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=2, test_mode=True),
            dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 40)),
            dict(type='CenterCrop', crop_size=32), dict(type='FormatShape', input_format='NCHW'),
            dict(type='PackActionInputs')]))
    path = str(tmp_path / 'rec.py')
    rec_cfg.dump(path)
    torch.manual_seed(0)
    recognizer = init_recognizer(path, None, device='cpu')
    model = init_detector(_tiny_e2e_cfg())
    res = inference_detector(model, DEMO, classifier=recognizer, class_names=['a', 'b', 'c'])
    _check(res, 10.0, False)
    assert {d['label'] for d in res['detections']} <= {'a', 'b', 'c'}
    agnostic = inference_detector(model, DEMO)
    from mmaction.apis import inference_recognizer
    probs = torch.softmax(inference_recognizer(recognizer, DEMO).pred_score.reshape(-1), 0)
    best = int(probs.argmax())
    assert res['detections'][0]['label'] == 'abc'[best]
    assert res['detections'][0]['score'] == pytest.approx(
        agnostic['detections'][0]['score'] * float(probs[best]), rel=1e-5)


def _run_demo(args, timeout=600):
    import subprocess
    import sys
    return subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'demo.py'), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=dict(__import__('os').environ, OMP_NUM_THREADS='1'))


@pytest.mark.slow
def test_demo_feature_model_extracts_with_a_recognizer(tmp_path):
    """tools/demo.py on a video with a feature config: the features come from the
    backbone of an MMAction2 recognizer given on the command line."""
    import json
    from mmengine.registry import DefaultScope
    from mmaction.registry import MODELS
    rec_cfg = Config(dict(default_scope='mmaction', model=tiny_tsm_recognizer(
        3, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])))
    rec_path, rec_ckpt = str(tmp_path / 'rec.py'), str(tmp_path / 'rec.pth')
    rec_cfg.dump(rec_path)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        torch.save(dict(state_dict=MODELS.build(rec_cfg.model).state_dict(), meta={}),
                   rec_ckpt)
    cfg = Config.fromfile(TINY)
    cfg.model.neck.in_channels = 512  # the recognizer's feature dimension
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.feature_dim = 512
    cfg_path, ckpt = str(tmp_path / 'feat.py'), str(tmp_path / 'feat.pth')
    cfg.dump(cfg_path)
    torch.save(dict(state_dict=init_detector(cfg).state_dict(), meta={}), ckpt)

    refused = _run_demo([DEMO, cfg_path, ckpt])
    assert refused.returncode == 2 and '--extractor-config' in refused.stderr

    out_json = str(tmp_path / 'dets.json')
    run = _run_demo([DEMO, cfg_path, ckpt, '--extractor-config', rec_path,
                     '--extractor-checkpoint', rec_ckpt, '--snippet-stride', '28',
                     '--clip-len', '2', '--short-side', '40', '--crop', '32',
                     '--out-json', out_json, '--scores', str(_scores(tmp_path))])
    assert run.returncode == 0, run.stderr[-3000:]
    assert 'features: 10 snippets x 512 channels' in run.stderr  # 280 frames / 28
    with open(out_json) as f:
        res = json.load(f)
    _check(res, 280 / 28, False)  # demo.mp4: 280 frames at 28 fps
    assert {d['label'] for d in res['detections']} <= {'a', 'b', 'c'}
    assert res['video'] == DEMO


def _scores(tmp_path):
    import json
    path = tmp_path / 'scores.json'
    path.write_text(json.dumps(dict(scores=[0.2, 0.5, 0.3], classes=['a', 'b', 'c'])))
    return path


E2E_DEFAULT = osp.join(ROOT, 'configs', 'etad_e2e',
                       'etad-e2e_tsm-r18-56-2f_1xb4-8e_synthetic-video.py')


@pytest.mark.slow
def test_embedded_end_to_end_default_trains_and_demos(tmp_path):
    """The documented end-to-end path at a tiny size: the default config generates its
    videos and pretrained encoder, trains with EGS 30%, and tools/demo.py runs the
    checkpoint on one of its videos (with the ground-truth lane) and on real footage."""
    import json
    import subprocess
    import sys
    data, work = tmp_path / 'data', tmp_path / 'work'
    opts = [f'model.encoder.init_cfg.checkpoint={data}/encoder_pretrained.pth',
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'param_scheduler.0.milestones=[1]', 'param_scheduler.0.end=1',
            'train_dataloader.batch_size=2']
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{key}.dataset.data_root={data}', f'{key}.dataset.synthetic.num_train=4',
                 f'{key}.dataset.synthetic.num_val=2', f'{key}.dataset.synthetic.num_source=8',
                 f'{key}.dataset.synthetic.pretrain_steps=2']
    env = dict(__import__('os').environ, OMP_NUM_THREADS='1')
    train = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), E2E_DEFAULT,
                            '--work-dir', str(work), '--cfg-options', *opts], cwd=ROOT,
                           capture_output=True, text=True, timeout=900, env=env)
    assert train.returncode == 0, train.stderr[-3000:]
    log = train.stdout + train.stderr
    assert 'avg_mAP' in log and 'Loads checkpoint' in log  # evaluated; encoder pretrained
    assert 'paramwise_options' not in log  # one line per parameter: log file only
    assert (data / 'encoder_pretrained.pth').is_file()
    gt = json.loads((data / 'gt.json').read_text())
    assert sorted(v['subset'] for v in gt['database'].values()) == ['training'] * 4 + \
        ['validation'] * 2
    video = str(data / 'videos' / 'syn0004.mp4')
    out_json, out_png = str(tmp_path / 'dets.json'), str(tmp_path / 'tl.png')
    run = _run_demo([video, E2E_DEFAULT, str(work / 'epoch_1.pth'), '--label-file',
                     str(data / 'gt.json'), '--out-json', out_json, '--out-plot', out_png])
    assert run.returncode == 0, run.stderr[-3000:]
    res = json.loads(open(out_json).read())
    _check(res, gt['database']['syn0004']['duration'], True)
    assert osp.getsize(out_png) > 0
    real = _run_demo([DEMO, E2E_DEFAULT, str(work / 'epoch_1.pth')])
    assert real.returncode == 0, real.stderr[-3000:]


@pytest.mark.slow
def test_demo_on_a_feature_file_needs_and_takes_duration(feature_file, tmp_path):
    import json
    cfg = Config.fromfile(TINY)
    cfg_path, ckpt = str(tmp_path / 'feat.py'), str(tmp_path / 'feat.pth')
    cfg.dump(cfg_path)
    torch.manual_seed(0)
    torch.save(dict(state_dict=init_detector(cfg).state_dict(), meta={}), ckpt)
    refused = _run_demo([feature_file, cfg_path, ckpt])
    assert refused.returncode == 2 and '--duration' in refused.stderr
    out_json = str(tmp_path / 'dets.json')
    run = _run_demo([feature_file, cfg_path, ckpt, '--duration', '20', '--out-json', out_json])
    assert run.returncode == 0, run.stderr[-3000:]
    with open(out_json) as f:
        _check(json.load(f), 20.0, True)
