# ActivityNet-1.3 with TSP features (512-d), rescaled to 128 snippets (App. B.1).
# Layout and downloads: docs/data_preparation.md.
data_root = 'data/activitynet'
num_snippets = 128
dataset_type = 'ActivityNetFeatureDataset'
common = dict(type=dataset_type, data_root=data_root,
              ann_file='annotations/activity_net.v1-3.min.json',
              data_prefix=dict(feature='features/tsp'), feature_dim=512,
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
    batch_size=4, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**common, subset='validation', test_mode=True, pipeline=val_pipeline,
                 classifier_file='annotations/cuhk_val_simp_7.json',
                 exclude_videos='annotations/blocked.json'))
test_dataloader = val_dataloader

val_evaluator = dict(type='TADMetric', metric_type='detection', protocol='anet',
                     top_k_classes=2, blocked_file=data_root + '/annotations/blocked.json')
test_evaluator = val_evaluator
