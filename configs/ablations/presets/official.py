# Preset decision table, row "released code": every difference at once, i.e. the model
# and rescale of configs/etad/etad-official_1xb16-6e_anet-tsp-feature.py on this data.
_base_ = ['./paper.py']

model = dict(
    init_cfg=dict(type='Xavier', layer=['Conv1d', 'Linear'], distribution='uniform', bias=0),
    neck=dict(conv_groups=4, bias=False, concat_order=('forward', 'residual', 'backward')),
    boundary_head=dict(conv_groups=4, num_groups=None),
    roi_head=dict(
        roi_extractor=dict(convention='roi_align', extended_bins=24, boundary_bins=6,
                           context_ratio=0.5, boundary_from_extended=True),
        stage_head=dict(residual_kernel=3, residual_groups=4, reduce_kernel=3, num_groups=None,
                        shared_extended_layer=True, center_width_scale=0.5,
                        max_log_width=None, min_length=None, mlp_init='xavier_uniform'),
        train_cfg=dict(gt_assignment='initial', boundary_labels='snippet',
                       negatives='batch_ratio'),
        test_cfg=dict(score='released', boundary_lookup='refined', edge_peaks=True,
                      selected_only=False)),
    loss=dict(loss_weights=dict(proposal_boundary=0.5, iou_reg=5.0)),
    test_cfg=dict(nms=dict(_delete_=True, type='gaussian_soft_nms', sigma=0.35,
                           iou_threshold=0.0, top_k=100, keep_last=False,
                           clip_to_video=False)))
_pipeline = [dict(type='LoadTADFeature'), dict(type='ResizeTADFeature', mode='roi_align'),
             dict(type='PackTADInputs')]
train_dataloader = dict(dataset=dict(pipeline=_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_pipeline))
test_dataloader = val_dataloader
ablation = dict(row='released code', order=14)
