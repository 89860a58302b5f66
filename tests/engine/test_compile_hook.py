"""``--compile`` / MMEngine's ``compile=`` key -> ``ETADCompileHook``: the stock
Runner trains the detector with its tensor program compiled, like eager."""
import copy
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from torch.utils.data import Dataset

import etad_mmaction  # noqa: F401
from etad_mmaction.engine import apply_compile
from etad_mmaction.testing import C, T, make_samples, small_model

pytestmark = pytest.mark.slow  # the fast tier (pytest -m "not slow") skips it


class Features(Dataset):
    """Six videos of random features with two ground-truth segments each."""

    def __len__(self):
        return 6

    def __getitem__(self, i):
        feats = torch.randn(C, T, generator=torch.Generator().manual_seed(i))
        return dict(inputs=feats, data_samples=make_samples(1, first_index=i)[0])


def test_compile_options_become_the_hook():
    cfg = Config(dict(compile=True, custom_hooks=[dict(type='NonFiniteCheckHook')]))
    apply_compile(cfg)
    assert 'compile' not in cfg            # MMEngine would compile the whole train_step
    assert cfg.custom_hooks[-1] == dict(type='ETADCompileHook')
    cfg = Config(dict(compile=dict(backend='eager')))
    apply_compile(cfg, mode='reduce-overhead')
    assert cfg.custom_hooks == [dict(type='ETADCompileHook', backend='eager',
                                     mode='reduce-overhead')]
    cfg = Config(dict(compile=False))
    apply_compile(cfg)
    assert 'custom_hooks' not in cfg


def train(work, model, compile_cfg=None):
    cfg = dict(model=model, work_dir=str(work), experiment_name=uuid.uuid4().hex,
               train_dataloader=dict(dataset=Features(), batch_size=2, num_workers=0,
                                     sampler=dict(type='DefaultSampler', shuffle=False)),
               optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05)),
               train_cfg=dict(by_epoch=True, max_epochs=2), custom_hooks=[],
               default_hooks=dict(checkpoint=None), default_scope='mmaction',
               randomness=dict(seed=0), log_level='WARNING')
    if compile_cfg is not None:
        cfg['compile'] = compile_cfg
        cfg = Config(cfg)
        apply_compile(cfg)
        cfg = dict(cfg)
    return Runner(**cfg)


def test_runner_trains_the_compiled_step_like_eager(tmp_path):
    torch.manual_seed(0)
    model = small_model(sampler=dict(type='RandomProposalSampler', ratio=0.25))
    twin = copy.deepcopy(model)
    train(tmp_path / 'eager', model).train()
    runner = train(tmp_path / 'compiled', twin, compile_cfg=dict(backend='eager'))
    runner.train()
    assert twin._compiled_loss is not None
    # float32 rounding only: the traced step runs the fused RoI layer's autograd
    # formulation, eager its tiled kernel (the two are tested equal in float64)
    for (name, want), got in zip(model.state_dict().items(), twin.state_dict().values()):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6, msg=name)
