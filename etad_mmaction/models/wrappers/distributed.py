"""A DDP wrapper usable on CPU (gloo) as well as CUDA (nccl)."""
from mmengine.model import MMDistributedDataParallel

from mmaction.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class ETADDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that drops ``device_ids`` for CPU modules.

    MMEngine's runner always passes ``device_ids=[LOCAL_RANK]``, which DDP
    rejects for CPU modules; on CUDA this behaves exactly like the stock wrapper.
    """

    def __init__(self, module, device_ids=None, **kwargs):
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        if on_cpu:
            device_ids = None
            kwargs.pop('output_device', None)
        super().__init__(module=module, device_ids=device_ids, **kwargs)
