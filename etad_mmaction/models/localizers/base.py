"""The mode dispatch shared by the ETAD localizers (MMEngine's ``BaseModel`` modes)."""
from typing import Dict, Union

from mmengine.model import BaseModel
from torch import Tensor

from mmaction.utils import OptSampleList, SampleList


class BaseTADLocalizer(BaseModel):
    """``forward(inputs, data_samples, mode)`` -> :meth:`loss` (``dict`` of losses),
    :meth:`predict` (data samples with ``pred_instances``) or :meth:`forward_tensor`
    (raw outputs), as MMAction2's recognizers and localizers dispatch."""

    def forward(self, inputs, data_samples: OptSampleList = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], SampleList]:
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.forward_tensor(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, predict and tensor mode')

    def loss(self, inputs, data_samples: SampleList) -> Dict[str, Tensor]:
        raise NotImplementedError

    def predict(self, inputs, data_samples: SampleList) -> SampleList:
        raise NotImplementedError

    def forward_tensor(self, inputs, data_samples: OptSampleList = None) -> Dict[str, Tensor]:
        raise NotImplementedError
