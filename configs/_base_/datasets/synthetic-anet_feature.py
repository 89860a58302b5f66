# Semi-synthetic ActivityNet-shaped features (etad_mmaction/datasets/synthetic/features.py),
# generated under data_root on first use from built-in ActivityNet-like statistics.
data_root = 'data/synthetic_anet'
num_snippets = 128
synthetic = dict(num_train=1000, num_val=300, num_classes=200, feature_dim=400, seed=0)

dataset_type = 'ActivityNetFeatureDataset'
common = dict(type=dataset_type, data_root=data_root, ann_file='gt.json',
              data_prefix=dict(feature='features'), feature_dim=400,
              num_snippets=num_snippets, synthetic=synthetic)

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
                 classifier_file='classifier.json'))
test_dataloader = val_dataloader

val_evaluator = dict(type='TADMetric', metric_type='detection', protocol='anet',
                     top_k_classes=2)
test_evaluator = val_evaluator
