"""Pipeline transforms of the feature datasets (paper App. B.1)."""
from .augment import TADColorJitter, TADRandAugment
from .formatting import CONTRACT_META_KEYS, PackTADInputs
from .loading import LoadTADFeature
from .temporal import CropTADWindow, ResizeTADFeature
from .video import SampleSnippets, TADDecordDecode, TADDecordInit, VideoReadError

__all__ = ['LoadTADFeature', 'ResizeTADFeature', 'CropTADWindow', 'PackTADInputs',
           'CONTRACT_META_KEYS', 'SampleSnippets', 'TADDecordInit', 'TADDecordDecode',
           'VideoReadError', 'TADRandAugment',
           'TADColorJitter']
