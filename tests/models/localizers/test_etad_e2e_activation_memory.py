"""EGS activation memory, counted deterministically: the bytes of tensors autograd
keeps for the backward (saved-tensor hooks), live at the same time. Injection mode's
peak is set by the chunk size and does not grow with the ratio; single pass grows."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper

from etad_mmaction.testing import tiny_e2e_batch as make_data
from etad_mmaction.testing import tiny_e2e_model as build

pytestmark = pytest.mark.slow  # the fast tier (pytest -m "not slow") skips it


class SavedTensorMeter:
    """Peak of the live bytes saved for backward inside the context."""

    def __init__(self):
        self.live = self.peak = 0

    def _pack(self, t):
        meter, size = self, t.numel() * t.element_size()

        class Handle:
            def __init__(self):
                self.t = t
                meter.live += size
                meter.peak = max(meter.peak, meter.live)

            def __del__(self):
                meter.live -= size
        return Handle()

    @staticmethod
    def _unpack(handle):
        return handle.t

    def __enter__(self):
        self.ctx = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self.ctx.__enter__()
        return self

    def __exit__(self, *exc):
        self.ctx.__exit__(*exc)


def peak_saved_bytes(mode, ratio, chunk):
    torch.manual_seed(0)
    model = build(ratio=ratio, mode=mode, chunk_size=chunk)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    with SavedTensorMeter() as meter:
        model.train_step(copy.deepcopy(make_data()), wrapper)
    return meter.peak


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_injection_peak_does_not_grow_with_ratio():
    peaks = {r: peak_saved_bytes('injection', r, chunk=2) for r in (0.25, 0.5, 1.0)}
    assert peaks[0.25] == peaks[0.5] == peaks[1.0], peaks
    # and it is set by the chunk: a bigger chunk keeps more
    assert peak_saved_bytes('injection', 0.5, chunk=4) > peaks[0.5]


def test_single_pass_peak_grows_with_ratio_and_exceeds_injection():
    sp = {r: peak_saved_bytes('single_pass', r, chunk=2) for r in (0.25, 0.5, 1.0)}
    assert sp[0.25] < sp[0.5] < sp[1.0], sp
    assert sp[1.0] > peak_saved_bytes('injection', 1.0, chunk=2)
