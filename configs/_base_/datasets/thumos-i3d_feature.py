# THUMOS-14 with I3D features (2048-d) every 4 frames at 30 fps; sliding windows of
# 128 snippets, stride 64 for training; windows covering each video for testing (B.1).
data_root = 'data/thumos14'
dataset_type = 'ThumosFeatureDataset'
common = dict(type=dataset_type, data_root=data_root,
              ann_file='annotations/thumos14.json',
              data_prefix=dict(feature='features/i3d'), feature_dim=2048,
              window_size=128, window_stride=64, snippet_stride=4, fps=30)

# the feature pipeline (each sample a window of window_size snippets)
train_pipeline = [
    dict(type='LoadTADFeature'),
    dict(type='CropTADWindow'),
    dict(type='PackTADInputs')
]
val_pipeline = [
    dict(type='LoadTADFeature'),
    dict(type='CropTADWindow'),
    dict(type='PackTADInputs')
]
test_pipeline = val_pipeline

# Loading a feature file is light next to a training step: 2 workers, so that a 2-core
# machine is not oversubscribed; validation workers start per validation instead of
# sitting beside training (raise num_workers if a profile shows the GPU waiting).
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True), drop_last=True,
    dataset=dict(**common, subset='Validation', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**common, subset='Test', test_mode=True, pipeline=val_pipeline,
                 classifier_file='annotations/uNet_test.npz'))
test_dataloader = val_dataloader

val_evaluator = dict(type='TADMetric', metric_type='detection', protocol='thumos',
                     top_k_classes=2,
                     nms_cfg=dict(type='soft_nms', alpha=0.4, low_threshold=0.5,
                                  high_threshold=0.9))
test_evaluator = val_evaluator
