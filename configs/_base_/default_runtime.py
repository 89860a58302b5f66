default_scope = 'mmaction'
custom_imports = dict(imports=['etad_mmaction'], allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # the latest epoch (to resume; with the optimizer state) and the best one (weights);
    # MMEngine's CheckpointHook + strict loading (strict_load=False to fine-tune from a
    # partly matching load_from), atomic writes, crash-consistent best checkpoints
    checkpoint=dict(type='ETADCheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='avg_mAP', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'))

# Seeds DPS / negatives / EGS per (seed, epoch, video index); stops a run at the first
# NaN/Inf loss and never saves NaN weights.
custom_hooks = [dict(type='ETADSamplingHook'), dict(type='NonFiniteCheckHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on CUDA; tools/train.py switches CPU-only runs to gloo
    dist_cfg=dict(backend='nccl'))

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='ActionVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
