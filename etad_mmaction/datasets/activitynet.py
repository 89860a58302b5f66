"""ActivityNet-1.3 and HACS feature datasets (paper App. B.1: "we resize the
feature sequences to a fixed length of 128 snippets"; HACS uses 224)."""
from typing import List

from mmaction.registry import DATASETS

from .annotations import VideoRecord
from .tad_dataset import TADFeatureDataset


@DATASETS.register_module()
class ActivityNetFeatureDataset(TADFeatureDataset):
    """One sample per video; features are rescaled to ``num_snippets``
    (``ResizeTADFeature``: bin averages when downsampling, linear interpolation
    when upsampling) and ground truth expressed on
    that axis (``u = seconds / duration * T``, ``snippet_seconds = duration /
    T``, ``window_start = 0``).

    Args:
        num_snippets (int): T, 128 for ActivityNet-1.3 (224 for HACS).
        **kwargs: see :class:`~etad_mmaction.datasets.TADFeatureDataset`.

    Example (BSN annotations + subset csv + classifier scores)::

        dict(type='ActivityNetFeatureDataset', data_root='data/anet',
             ann_file='anet_anno_action.json', subset_file='video_info_new.csv',
             subset='validation', classes='action_name.csv',
             data_prefix=dict(feature='tsn_features'), feature_ext='.csv',
             feature_dim=400, num_snippets=128,
             classifier_file='cuhk_val_simp_7.json', exclude_videos='blocked.json',
             test_mode=True)
    """

    def __init__(self, *args, num_snippets: int = 128, **kwargs):
        self.num_snippets = int(num_snippets)
        super().__init__(*args, **kwargs)

    def default_pipeline(self) -> List[dict]:
        return [dict(type='LoadTADFeature'), dict(type='ResizeTADFeature'),
                dict(type='PackTADInputs')]

    def video_samples(self, info: dict, rec: VideoRecord) -> List[dict]:
        info['num_snippets'] = self.num_snippets
        info['window_start'] = 0.0
        return [info]


@DATASETS.register_module()
class HACSFeatureDataset(ActivityNetFeatureDataset):
    """HACS Segments: the ActivityNet dataset with ``num_snippets=224`` by
    default (same official json format)."""

    def __init__(self, *args, num_snippets: int = 224, **kwargs):
        super().__init__(*args, num_snippets=num_snippets, **kwargs)
