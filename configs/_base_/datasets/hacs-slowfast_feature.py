# HACS Segments with SlowFast features (2304-d), rescaled to 224 snippets (App. D).
data_root = 'data/hacs'
num_snippets = 224
dataset_type = 'HACSFeatureDataset'
common = dict(type=dataset_type, data_root=data_root,
              ann_file='annotations/HACS_segments_v1.1.1.json',
              data_prefix=dict(feature='features/slowfast'), feature_dim=2304,
              num_snippets=num_snippets)

# the feature pipeline (each video rescaled to num_snippets, bin averages when shortening)
train_pipeline = [
    dict(type='LoadTADFeature'),
    dict(type='ResizeTADFeature'),
    dict(type='PackTADInputs')
]
val_pipeline = [
    dict(type='LoadTADFeature'),
    dict(type='ResizeTADFeature'),
    dict(type='PackTADInputs')
]
test_pipeline = val_pipeline

# Loading a feature file is light next to a training step: 2 workers, so that a 2-core
# machine is not oversubscribed; validation workers start per validation instead of
# sitting beside training (raise num_workers if a profile shows the GPU waiting).
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True), drop_last=True,
    dataset=dict(**common, subset='training', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**common, subset='validation', test_mode=True, pipeline=val_pipeline,
                 classifier_file='annotations/hacs_validation_classifier.json'))
test_dataloader = val_dataloader

val_evaluator = dict(type='TADMetric', metric_type='detection', protocol='anet',
                     top_k_classes=2)
test_evaluator = val_evaluator
