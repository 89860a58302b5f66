"""The dataset-inheritance example of docs/configs.md builds and trains one step."""
import os.path as osp
import re

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import etad_mmaction  # noqa: F401
from etad_mmaction.datasets.synthetic import generate_synthetic_dataset
from mmaction.registry import DATASETS, MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_new_dataset_example_from_docs(tmp_path):
    text = open(osp.join(ROOT, 'docs', 'configs.md')).read()
    block = re.search(r"## Adding a dataset.*?```python\n(.*?)```", text, re.S).group(1)
    base = osp.join(ROOT, 'configs', 'etad', 'etad_1xb16-6e_anet-tsp-feature.py')
    cfg_file = tmp_path / 'etad_mydata-x_feature.py'
    cfg_file.write_text(block.replace("'./etad_1xb16-6e_anet-tsp-feature.py'", repr(base)))
    cfg = Config.fromfile(str(cfg_file))
    data_root = str(tmp_path / 'mydata')
    generate_synthetic_dataset(data_root, progress=False, num_train=4, num_val=2,
                               num_classes=3, feature_dim=1024, write_bmn=False)
    for key in ('train_dataloader', 'val_dataloader'):
        cfg[key].dataset.data_root = data_root
    train = DATASETS.build(cfg.train_dataloader.dataset)
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(train) == 4 and len(val) == 2
    assert val[0]['data_samples'].metainfo['classifier_scores'].shape == (3,)
    model = MODELS.build(cfg.model)
    batch = pseudo_collate([train[0], train[1]])
    losses = model(batch['inputs'], batch['data_samples'], mode='loss')
    assert torch.isfinite(sum(losses.values()))


def test_getting_started_api_example(tmp_path):
    """The Python API block of docs/getting_started.md, on the tiny config."""
    text = open(osp.join(ROOT, 'docs', 'getting_started.md')).read()
    block = re.search(r"## Python API.*?```python\n(.*?)```", text, re.S).group(1)
    data_root = str(tmp_path / 'data')
    generate_synthetic_dataset(data_root, progress=False, num_train=32, num_val=8,
                               num_classes=5, feature_dim=32, seed=0, write_bmn=False)
    tiny = osp.join(ROOT, 'tests', 'configs', 'etad_tiny_synthetic.py')
    cfg = Config.fromfile(tiny)
    model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'epoch_6.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    code = (block.replace("'configs/etad/etad_1xb16-6e_synthetic-anet-feature.py'", repr(tiny))
            .replace("'work_dirs/etad_1xb16-6e_synthetic-anet-feature/epoch_6.pth'", repr(ckpt))
            .replace('data/synthetic_anet_small', data_root))
    scope = {}
    exec(compile(code, 'getting_started.md', 'exec'), scope)
    assert scope['result']['detections'] and scope['result']['class_agnostic']
