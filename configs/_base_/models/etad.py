# ETAD detector (Section 3, Appendix A) on 400-d features, T = D = 128.
model = dict(
    type='ETAD',
    num_snippets=128,
    max_duration=128,
    neck=dict(type='LSTMFeatureEnhancement', in_channels=400, hidden_channels=256,
              branch_channels=128, out_channels=256),
    boundary_head=dict(type='BoundaryHead', in_channels=256),
    proposal_head=dict(
        type='CascadeProposalHead', num_stages=3, pos_iou_thresholds=(0.7, 0.8, 0.9),
        in_channels=256, roi_channels=128, boundary_bins=8, extended_bins=32,
        hidden_dims=(512, 128, 128, 128), context_ratio=0.5),
    loss=dict(type='ETADLoss',
              loss_weights=dict(boundary=1.0, proposal_boundary=1.0, iou=1.0, regression=10.0)),
    # Detector Proposal Sampling: 6% random at training, all proposals at test (C.3)
    sampler=dict(type='RandomSampler', ratio=0.06),
    test_sampler=None,
    train_cfg=dict(boundary_radius=1.5),
    test_cfg=dict(nms=dict(type='soft_nms', alpha=0.4, low_threshold=0.5, high_threshold=0.9,
                           top_k=100, pre_top_k=2000),
                  peak_ratio=0.5, proposal_chunk=4096))
