"""Feature datasets for temporal action detection (ActivityNet-1.3, HACS,
THUMOS-14; paper App. B.1) and the semi-synthetic dataset generator."""
from .activitynet import ActivityNetFeatureDataset, HACSFeatureDataset
from .annotations import TADAnnotationWarning, parse_annotation_file
from .classifier import MissingVideoError
from .features import FeatureError
from .synthetic import ensure_synthetic_dataset, generate_synthetic_dataset
from .tad_dataset import TADFeatureDataset
from .thumos import ThumosFeatureDataset
from .transforms import (CropTADWindow, LoadTADFeature, PackTADInputs,
                         ResizeTADFeature, SampleSnippets, TADDecordDecode,
                         TADDecordInit, VideoReadError)
from .video_datasets import (ActivityNetVideoDataset, TADVideoDatasetMixin,
                             ThumosVideoDataset)
from ..evaluation.functional.video_ids import normalize_video_id

__all__ = [
    'TADFeatureDataset', 'ActivityNetFeatureDataset', 'HACSFeatureDataset',
    'ThumosFeatureDataset', 'LoadTADFeature', 'ResizeTADFeature', 'CropTADWindow',
    'PackTADInputs', 'generate_synthetic_dataset', 'ensure_synthetic_dataset',
    'TADAnnotationWarning', 'FeatureError', 'MissingVideoError',
    'parse_annotation_file', 'normalize_video_id', 'SampleSnippets', 'TADDecordInit',
    'TADDecordDecode', 'VideoReadError', 'ActivityNetVideoDataset', 'ThumosVideoDataset',
    'TADVideoDatasetMixin',
]
