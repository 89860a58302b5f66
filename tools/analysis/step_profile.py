"""What one detector training step asks of the device, counted rather than timed.

On a GPU a small-kernel step like ETAD's is bound by how many kernels the host
launches and by how often it waits for the device, not by arithmetic; both are
properties of the code, the same on any machine, so they can be counted here on
a CPU::

    python tools/analysis/step_profile.py \
        configs/etad/etad_1xb16-6e_synthetic-anet-full-feature.py [--batch 16] [--skip bmn]

(the config's ETAD at its DPS and at 100%, ungrouped RoI layer, and stock BMN):

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
import argparse
import copy
import os.path as osp
import sys
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


def main(argv=None):
    from mmengine.config import DictAction

    import etad_mmaction  # noqa: F401
    from etad_mmaction.testing import random_feature_batch
    from mmaction.registry import MODELS
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    import benchmark as B
    from detector_benchmark import bmn_model, etad_and_full
    p = argparse.ArgumentParser(description='Counted cost of one training step (CPU)')
    p.add_argument('config')
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--skip', nargs='*', default=[], help='cases to leave out (e.g. bmn)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    p.add_argument('--out', default=None, help='default docs/benchmarks/profile_cpu.json')
    args = p.parse_args(argv)
    B.thread_policy()
    etad, full = etad_and_full(args.config, args.cfg_options)
    ungrouped = copy.deepcopy(etad)
    ungrouped['roi_head'].setdefault('stage_head', {})['roi_group_elements'] = 1 << 62
    dim = etad['neck']['in_channels']
    cases = [('etad_6pct', etad), ('etad_100pct', full), ('etad_6pct_ungrouped_roi', ungrouped)]
    cases += [] if 'bmn' in args.skip else [('bmn', bmn_model(dim))]
    res = dict(env=B.environment('cpu'), command=' '.join(['python'] + sys.argv),
               config=args.config, batch=args.batch, feat_dim=dim)
    for name, cfg in cases:
        if name in args.skip:
            continue
        torch.manual_seed(0)
        model = MODELS.build(cfg)
        t = cfg['temporal_dim'] if cfg['type'] == 'BMN' else cfg['num_snippets']
        feats, samples = random_feature_batch(args.batch, t, dim, 'cpu', bmn=cfg['type'] == 'BMN')
        res[name] = profile_step(model, list(feats), samples)
        print(f'  {name}: {res[name]}', file=sys.stderr, flush=True)
    if 'bmn' in res:
        for key in ('ops', 'host_syncs', 'peak_tensor_mb', 'saved_mb'):
            res[f'etad_over_bmn_{key}'] = res['etad_6pct'][key] / max(res['bmn'][key], 1e-9)
    B.write_result(res, args.out or osp.join(B.OUT_DIR, 'profile_cpu.json'))


def render(d: dict) -> str:
    import benchmark as B
    cases = [(k, label) for k, label in (
        ('etad_6pct', 'ETAD, DPS 6%'), ('etad_100pct', 'ETAD, 100%'),
        ('etad_6pct_ungrouped_roi', 'ETAD 6%, fused RoI layer ungrouped'),
        ('bmn', 'BMN (stock)')) if k in d]
    rows = (('ops', 'operations dispatched (forward + loss + backward)', '{:.0f}'),
            ('host_syncs', 'host synchronisations (on CUDA)', '{:.0f}'),
            ('peak_tensor_mb', 'peak tensor memory in the step (MB)', '{:.0f}'),
            ('saved_mb', 'kept for backward (MB)', '{:.0f}'))
    lines = B.head('Counted cost of one training step (CPU)', d) + [
        f"One training step at batch {d['batch']} on random {d['feat_dim']}-d features "
        "(ETAD T = 128, BMN T = 100), counted by a dispatch mode "
        "(`tools/analysis/step_profile.py`) after one warm-up step: the same counts on "
        "any device. On a GPU, operations bound the number of kernel launches and host "
        "synchronisations stall the launch queue; memory excludes parameters, gradients "
        "and optimizer state.", '',
        '| | ' + ' | '.join(label for _, label in cases) + ' | ETAD 6% / BMN |',
        '|---|' + '---|' * (len(cases) + 1)]
    for key, label, fmt in rows:
        ratio = d.get(f'etad_over_bmn_{key}')
        lines.append(f'| {label} | ' + ' | '.join(fmt.format(d[k][key]) for k, _ in cases)
                     + f" | {'' if ratio is None else f'{ratio:.2f}'} |")
    return '\n'.join(lines + [''])


if __name__ == '__main__':
    main()
