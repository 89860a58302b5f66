"""tools/test.py --dump-raw + tools/analysis/post_process.py: the same detections and
mAP as the in-model path, with 1 or 2 worker processes; --grid over NMS settings."""
import glob
import json
import os.path as osp
import pickle
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

import etad_mmaction  # noqa: F401
from etad_mmaction import testing
from etad_mmaction.engine.raw_outputs import ETADRawDumpHook, RAW_FORMAT, load_raw, raw_files
from etad_mmaction.testing import data_opts, final_metrics, load_tool
from mmaction.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'configs', 'etad_tiny_synthetic.py')
pytestmark = pytest.mark.slow  # tools/test.py subprocesses and a worker pool


def run_tool(args, env_extra=None, timeout=900):
    return testing.run_tool(args, ROOT, (ROOT, osp.join(ROOT, 'tests', 'helpers')), env_extra,
                            timeout)


post_tool = load_tool('analysis/post_process.py')


@pytest.fixture(scope='module')
def dumped(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('raw')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY).model)
    ckpt = str(tmp / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    raw, sub = str(tmp / 'raw'), str(tmp / 'test_sub.json')
    data_root = str(tmp / 'data')
    log = run_tool(['tools/test.py', TINY, ckpt, '--work-dir', str(tmp / 'w'), '--out', sub,
                    '--dump-raw', raw, '--cfg-options', *data_opts(data_root)])
    return dict(tmp=tmp, ckpt=ckpt, raw=raw, sub=sub, log=log, data_root=data_root)


def test_raw_files(dumped):
    files = raw_files(dumped['raw'])
    assert len(files) == 8 and 'wrote the raw proposals of 8 samples' in dumped['log']
    rec = load_raw(files[0])
    assert rec['format'] == RAW_FORMAT and rec['num_snippets'] == 16
    assert rec['segments'].shape[1] == 2 and len(rec['scores']) == len(rec['segments']) > 0
    assert rec['metainfo']['sample_idx'] == 0
    assert json.load(open(osp.join(dumped['raw'], 'dataset_meta.json')))['classes']
    assert not glob.glob(osp.join(dumped['raw'], '.*.tmp'))


@pytest.mark.parametrize('workers', [1, 2])
def test_post_process_equals_test_tool(dumped, workers, tmp_path):
    sub = str(tmp_path / 'post_sub.json')
    out = post_tool.main([TINY, dumped['raw'], '--workers', str(workers), '--out', sub])
    assert out['avg_mAP'] == pytest.approx(final_metrics(dumped['log']), abs=5e-5)  # log: 4 d.
    assert json.load(open(sub)) == json.load(open(dumped['sub']))      # identical detections


def test_post_process_follows_cfg_options_and_grid(dumped, tmp_path):
    nms = 'model.test_cfg.nms'
    hard = post_tool.main([TINY, dumped['raw'], '--cfg-options', f'{nms}.type=nms',
                           f'{nms}.iou_threshold=0.3', f'{nms}.top_k=5',
                           f'{nms}._delete_=True'])
    base = post_tool.main([TINY, dumped['raw']])
    assert hard['avg_mAP'] != base['avg_mAP']
    grid_json = str(tmp_path / 'grid.json')
    rows = post_tool.main([TINY, dumped['raw'], '--workers', '2', '--grid',
                           'alpha=0.4,0.9', 'top_k=100,3', '--grid-out', grid_json])
    assert [(r['nms']['alpha'], r['nms']['top_k']) for r in rows] == [
        (0.4, 100), (0.4, 3), (0.9, 100), (0.9, 3)]
    assert rows[0]['avg_mAP'] == base['avg_mAP']          # the config's own setting
    assert len({r['avg_mAP'] for r in rows}) > 1
    assert json.load(open(grid_json)) == rows


def test_bad_inputs(dumped, tmp_path):
    with pytest.raises(FileNotFoundError, match='no raw proposal files'):
        post_tool.main([TINY, str(tmp_path)])
    with pytest.raises(SystemExit, match="--grid row .*'sigma'.* not options of 'soft_nms'"):
        post_tool.main([TINY, dumped['raw'], '--grid', 'sigma=0.5'])
    bad = tmp_path / 'bad'
    bad.mkdir()
    (bad / '0000000_v.pkl').write_bytes(pickle.dumps(dict(format='other')))
    with pytest.raises(ValueError, match='0000000_v.pkl: not a raw proposal file'):
        load_raw(str(bad / '0000000_v.pkl'))
    # a folder that already holds raw files is refused before the test loop runs
    runner = SimpleNamespace(model=MODELS.build(Config.fromfile(TINY).model))
    with pytest.raises(FileExistsError, match='already holds 8 raw files'):
        ETADRawDumpHook(dumped['raw']).before_test(runner)
    with pytest.raises(NotADirectoryError, match='is a file'):
        ETADRawDumpHook(osp.join(dumped['raw'], 'dataset_meta.json')).before_test(runner)


def test_grid_row_of_another_nms_type_keeps_only_its_keys():
    """A grid row that switches the NMS type starts from that type's keys (the base
    Soft-NMS thresholds would be refused by the Gaussian one)."""
    base = dict(type='soft_nms', alpha=0.4, low_threshold=0.5, high_threshold=0.9,
                top_k=100, pre_top_k=2000)
    assert post_tool.grid_nms(base, dict(type='gaussian_soft_nms', sigma=0.3)) == dict(
        type='gaussian_soft_nms', sigma=0.3, top_k=100, pre_top_k=2000)
    assert post_tool.grid_nms(base, dict(alpha=0.3)) == dict(base, alpha=0.3)
