"""Every registered ETAD component builds from a config dict through MMAction2's
registries (default scope 'mmaction'), as configs with custom_imports do."""
import pytest
import torch
from mmengine.registry import DefaultScope

import etad_mmaction  # noqa: F401
from mmaction.registry import (DATASETS, HOOKS, METRICS, MODEL_WRAPPERS, MODELS,
                               OPTIM_WRAPPERS, TASK_UTILS, TRANSFORMS)

MODEL_CFGS = [
    dict(type='LSTMFeatureEnhancement', in_channels=16, hidden_channels=32, branch_channels=16,
         out_channels=32, num_groups=4),
    dict(type='LSTMFeatureEnhancement', in_channels=16, direction='forward'),
    dict(type='ConvFeatureEnhancement', in_channels=16),
    dict(type='TransformerFeatureEnhancement', in_channels=16),
    dict(type='BoundaryHead', in_channels=32, feat_channels=32, num_groups=4),
    dict(type='ETADRoIHead', num_snippets=8,
         stage_head=dict(in_channels=32, roi_channels=16, hidden_dims=(16, 16), num_groups=4)),
    dict(type='ProposalEvaluationHead', in_channels=32, roi_channels=16, hidden_dims=(16, 16),
         num_groups=4),
    dict(type='TemporalRoIExtractor', convention='roi_align'),
    dict(type='ETADLoss'),
    dict(type='ETAD', num_snippets=8, neck=dict(type='LSTMFeatureEnhancement', in_channels=16)),
]
SAMPLERS = ['RandomSampler', 'GridSampler', 'BlockSampler', 'FPSSampler', 'DPPSampler',
            'GreedyDPPSampler', 'IoUBalancedSampler', 'ScaleBalancedSampler']


@pytest.fixture(autouse=True)
def mmaction_scope():
    name = 'test_registry'
    if not DefaultScope.check_instance_created(name):
        DefaultScope.get_instance(name, scope_name='mmaction')
    yield


@pytest.mark.parametrize('cfg', MODEL_CFGS, ids=lambda c: c['type'])
def test_models(cfg):
    assert isinstance(MODELS.build(cfg), torch.nn.Module)


@pytest.mark.parametrize('name', SAMPLERS)
def test_samplers(name):
    sampler = TASK_UTILS.build(dict(type=name, ratio=0.5))
    assert sampler.num_samples(10) == 5


def test_transforms_metric_hook_optim_wrapper():
    for cfg in (dict(type='LoadTADFeature'), dict(type='ResizeTADFeature', num_snippets=8),
                dict(type='PackTADInputs')):
        assert TRANSFORMS.build(cfg) is not None
    assert METRICS.build(dict(type='TADMetric')).__class__.__name__ == 'TADMetric'
    assert HOOKS.build(dict(type='ETADSamplingHook')).__class__.__name__ == 'ETADSamplingHook'
    model = torch.nn.Linear(2, 2)
    wrapper = OPTIM_WRAPPERS.build(dict(type='CPUBf16OptimWrapper',
                                        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    with wrapper.optim_context(model):
        assert model(torch.randn(1, 2)).dtype == torch.bfloat16
    assert MODEL_WRAPPERS.get('ETADDistributedDataParallel') is not None
    assert TRANSFORMS.get('CropTADWindow') is not None


def test_datasets(tmp_path):
    common = dict(data_root=str(tmp_path / 'd'), ann_file='gt.json',
                  data_prefix=dict(feature='features'), feature_dim=8,
                  synthetic=dict(num_train=3, num_val=2, num_classes=3, feature_dim=8,
                                 write_bmn=False, seed=0))
    anet = DATASETS.build(dict(type='ActivityNetFeatureDataset', num_snippets=8, **common,
                               subset='training'))
    item = anet[0]
    assert item['inputs'].shape == (8, 8)
    hacs = DATASETS.build(dict(type='HACSFeatureDataset', **common, subset='validation',
                               test_mode=True))
    assert hacs[0]['inputs'].shape == (8, 224)
    thumos = DATASETS.build(dict(type='ThumosFeatureDataset', window_size=8, window_stride=4,
                                 snippet_stride=30, fps=30, **common, subset='validation',
                                 test_mode=True))
    assert len(thumos) >= 2 and thumos[0]['inputs'].shape == (8, 8)


def test_model_index_lists_every_config():
    """``mim search etad_mmaction`` reads model-index.yml -> configs/*/metafile.yml:
    every listed config exists, and every config except the one-release aliases of
    the old names is listed."""
    import glob
    import os.path as osp

    import yaml
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    index = yaml.safe_load(open(osp.join(root, 'model-index.yml')))
    listed = set()
    for meta in index['Import']:
        data = yaml.safe_load(open(osp.join(root, meta)))
        names = {c['Name'] for c in data['Collections']}
        for model in data['Models']:
            assert model['In Collection'] in names
            assert osp.isfile(osp.join(root, model['Config'])), model['Config']
            assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]
            listed.add(model['Config'])
    for path in glob.glob(osp.join(root, 'configs', 'etad*', '*.py')):
        rel = osp.relpath(path, root)
        if 'keeps working until the next release' in open(path).read():
            target = open(path).read().split("_base_ = ['./")[1].split("'")[0]
            assert osp.join(osp.dirname(rel), target) in listed, rel
        else:
            assert rel in listed, rel
