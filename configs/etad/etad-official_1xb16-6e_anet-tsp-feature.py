# ETAD as the authors' released code trains it (github.com/sming256/ETAD,
# configs/anet/feature_anet_tsp.py, which produced the published 37.78 average mAP):
# every difference from the paper's text is an option of the project's components.
# docs/method.md ("Paper text vs released code") lists them with the evidence.
# Load a checkpoint of the authors' trainer after
#   python tools/model_converters/convert_official_etad.py SRC.pth.tar DST.pth
_base_ = ['./etad_1xb16-6e_anet-tsp-feature.py']

model = dict(
    num_snippets=128,
    max_duration=128,
    # xavier-uniform weights and zero biases for every conv and linear layer
    init_cfg=dict(type='Xavier', layer=['Conv1d', 'Linear'], distribution='uniform', bias=0),
    neck=dict(in_channels=512, conv_groups=4, bias=False,
              concat_order=('forward', 'residual', 'backward')),
    boundary_head=dict(conv_groups=4, num_groups=None),
    roi_head=dict(
        # one 24-bin RoI on the extended region (roi_align, aligned=False, adaptive
        # sampling); the start/end features are its first and last 6 bins
        roi_extractor=dict(convention='roi_align', extended_bins=24, boundary_bins=6,
                           context_ratio=0.5, boundary_from_extended=True),
        # per stage: x + relu(conv_k3_g4(x)), reduce conv k3 without GroupNorm, one
        # shared 3072 -> 512 layer for the IoU, start/end and center/width branches,
        # center/width halved, no clamps in the refinement
        stage_head=dict(residual_kernel=3, residual_groups=4, reduce_kernel=3, num_groups=None,
                        shared_extended_layer=True, center_width_scale=0.5,
                        max_log_width=None, min_length=None, mlp_init='xavier_uniform'),
        train_cfg=dict(gt_assignment='initial', boundary_labels='snippet',
                       negatives='batch_ratio'),
        test_cfg=dict(score='released', boundary_lookup='refined', edge_peaks=True,
                      selected_only=False)),
    loss=dict(loss_weights=dict(boundary=1.0, proposal_boundary=0.5, iou_cls=1.0, iou_reg=5.0,
                                regression=10.0)),
    test_cfg=dict(nms=dict(_delete_=True, type='gaussian_soft_nms', sigma=0.35,
                           iou_threshold=0.0, top_k=100, keep_last=False,
                           clip_to_video=False)))

# the authors rescale each video's features with roi_align (aligned=True) in float16
# -> float64
train_pipeline = [
    dict(type='LoadTADFeature'),
    dict(type='ResizeTADFeature', mode='roi_align'),
    dict(type='PackTADInputs')
]
val_pipeline = train_pipeline
test_pipeline = val_pipeline
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
