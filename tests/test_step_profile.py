"""tools/analysis/step_profile.py: the counter sees host synchronisations and
operations, and the ETAD training step (DPS, IoU negatives, targets, loss) has none
of the former: on CUDA it never waits for the device before the optimizer step."""
import os.path as osp
import sys

import torch
from torch import nn

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools', 'analysis'))
from step_profile import profile_step  # noqa: E402



def _etad_helpers():
    """``small_model`` / ``make_samples`` of the detector tests, loaded by path."""
    import importlib.util
    path = osp.join(osp.dirname(osp.abspath(__file__)), 'models', 'test_etad_model.py')
    spec = importlib.util.spec_from_file_location('_etad_model_helpers', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.small_model, mod.make_samples


class Syncing(nn.Module):
    """A toy model whose loss reads values back on the host three ways."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(4))

    def forward(self, inputs, data_samples, mode='loss'):
        x = inputs[0] * self.w
        k = int((x > 0).sum())                       # .item()
        idx = torch.nonzero(x > 0).flatten()         # data-dependent shape
        sel = x[x > 0]                               # boolean-mask indexing
        return dict(loss=x[idx[:k]].sum() + sel.sum())


def test_counter_sees_syncs_ops_and_memory():
    res = profile_step(Syncing(), [torch.randn(4)], None)
    assert res['host_syncs'] >= 3
    assert res['ops'] > 5 and res['peak_tensor_mb'] > 0


def test_etad_training_step_has_no_host_synchronisation():
    small_model, make_samples = _etad_helpers()
    torch.manual_seed(0)
    for sampler in (dict(type='RandomSampler', ratio=0.5), None):
        model = small_model(sampler=sampler)
        res = profile_step(model, torch.randn(3, 8, 16), make_samples(3))
        assert res['host_syncs'] == 0, (sampler, res)
        assert res['ops'] > 100
