"""What one detector training step asks of the device, counted rather than timed.

On a GPU a small-kernel step like ETAD's is bound by how many kernels the host
launches and by how often it waits for the device, not by arithmetic; both are
properties of the code, the same on any machine, so they can be counted here on
a CPU (``python tools/analysis/benchmark.py profile``):

* ``ops``: tensor operations dispatched by forward + loss + backward (views and
  metadata-only operations such as ``view``/``select``/``expand`` left out): an
  upper bound on kernel launches;
* ``host_syncs``: operations that make the host wait for the device on CUDA
  (``.item()``/``int()``/``bool()`` of a tensor, ``nonzero``, boolean-mask indexing,
  ``unique``, ``masked_select``);
* ``peak_tensor_mb``: the most tensor memory alive at once during the step
  (tensors created in the step; parameters, gradients and optimizer state, which
  exist before it, excluded);
* ``saved_mb``: memory kept for the backward pass (distinct storages).

The optimizer step is not counted (it is the user's choice and the same for both
models).
"""
import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

_VIEWS = ('view', '_unsafe_view', 'select', 'slice', 'unsqueeze', 'squeeze', 'expand', 't',
          'transpose', 'permute', 'as_strided', 'alias', 'detach', 'split', 'split_with_sizes',
          'unbind', '_reshape_alias', 'lift_fresh', 'diagonal', 'unfold', 'narrow',
          'view_as_real', 'view_as_complex', 'sym_size', 'sym_stride', 'sym_numel', 'dim',
          'is_same_size', 'sym_storage_offset')
_SYNC = ('_local_scalar_dense', 'nonzero', 'masked_select', '_unique2', 'unique_dim',
         'unique_consecutive')


class StepCounter(TorchDispatchMode):
    """Counts dispatched operations and host synchronisations; tracks live tensor bytes."""

    def __init__(self):
        super().__init__()
        self.ops = 0
        self.syncs = 0
        self.live = 0
        self.peak = 0
        self._seen = set()

    def _free(self, key, nbytes):
        self.live -= nbytes
        self._seen.discard(key)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        if name not in _VIEWS:
            self.ops += 1
        if name in _SYNC or (name == 'index' and any(
                isinstance(i, torch.Tensor) and i.dtype == torch.bool
                for i in tree_flatten(args[1:])[0])):
            self.syncs += 1
        out = func(*args, **kwargs)
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                key = storage.data_ptr()
                if key and key not in self._seen:
                    self._seen.add(key)
                    nbytes = storage.nbytes()
                    self.live += nbytes
                    weakref.finalize(storage, self._free, key, nbytes)
                    self.peak = max(self.peak, self.live)
        return out


def profile_step(model, inputs, data_samples) -> dict:
    """Count one ``loss`` forward + backward of ``model`` (after one warm-up step)."""
    def forward_backward():
        losses = model(inputs, data_samples, mode='loss')
        sum(v for k, v in losses.items() if 'loss' in k).backward()

    forward_backward()                       # warm-up: lazy buffers, gradients allocated
    model.zero_grad(set_to_none=False)
    saved, seen = [0], set()

    def pack(t):
        key = t.untyped_storage().data_ptr()
        if key not in seen:
            seen.add(key)
            saved[0] += t.untyped_storage().nbytes()
        return t
    counter = StepCounter()
    with counter:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            losses = model(inputs, data_samples, mode='loss')
        sum(v for k, v in losses.items() if 'loss' in k).backward()
    return dict(ops=counter.ops, host_syncs=counter.syncs,
                peak_tensor_mb=counter.peak / 2**20, saved_mb=saved[0] / 2**20)
