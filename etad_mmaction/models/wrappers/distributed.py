"""A DDP wrapper usable on CPU (gloo) as well as CUDA (nccl), which also runs the
end-to-end model's own training step (EGS gradient injection)."""
from typing import Dict, Union

import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper

from mmaction.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class ETADDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for ETAD models.

    * CPU modules: MMEngine's runner always passes ``device_ids=[LOCAL_RANK]``,
      which DDP rejects for CPU modules; they are dropped (gloo backend).
    * Modules that own their training step (``ETADEndToEnd``, whose injection
      mode runs the encoder twice and back-propagates injected feature
      gradients outside any DDP forward): the stock wrapper's ``train_step``
      would run a plain loss forward and bypass it. Here the module's
      ``train_step`` runs under ``no_sync`` and the module averages all
      gradients across ranks itself, once per optimiser update
      (``ETADEndToEnd._all_reduce_grads``), so no rank ever steps on local
      gradients. Every other model takes the stock DDP path.
    """

    def __init__(self, module, device_ids=None, **kwargs):
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        if on_cpu:
            device_ids = None
            kwargs.pop('output_device', None)
        super().__init__(module=module, device_ids=device_ids, **kwargs)

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        if getattr(self.module, 'owns_distributed_train_step', False):
            with self.no_sync():
                return self.module.train_step(data, optim_wrapper)
        return super().train_step(data, optim_wrapper)
