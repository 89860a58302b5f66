# ETAD detector (Section 3, Appendix A) on 400-d features, T = D = 128: the paper's text.
model = dict(
    type='ETAD',
    num_snippets=128,
    max_duration=128,
    neck=dict(type='LSTMFeatureEnhancement', in_channels=400, hidden_channels=256,
              branch_channels=128, out_channels=256),
    boundary_head=dict(type='BoundaryHead', in_channels=256),
    roi_head=dict(
        type='ETADRoIHead',
        num_stages=3,
        roi_extractor=dict(type='TemporalRoIExtractor', convention='linear', extended_bins=32,
                           boundary_bins=8, samples_per_bin=2, context_ratio=0.5),
        stage_head=dict(type='ProposalEvaluationHead', in_channels=256, roi_channels=128,
                        hidden_dims=(512, 128, 128, 128)),
        # Detector Proposal Sampling: 6% random at training; at test all proposals unless
        # test_proposal_sampler=dict(type='GridProposalSampler', ratio=...) is set (C.3)
        proposal_sampler=dict(type='RandomProposalSampler', ratio=0.06),
        train_cfg=dict(stage_pos_iou_thrs=(0.7, 0.8, 0.9), iou_cls_pos_thr=0.9,
                       iou_reg_bins=(0.3, 0.7), gt_assignment='per_stage',
                       boundary_labels='radius', negatives='per_video'),
        test_cfg=dict(score='paper', boundary_lookup='anchor', peak_ratio=0.5,
                      proposal_chunk=4096, selected_only=True)),
    loss=dict(type='ETADLoss',
              loss_weights=dict(boundary=1.0, proposal_boundary=1.0, iou_cls=1.0, iou_reg=1.0,
                                regression=10.0)),
    train_cfg=dict(boundary_radius=1.5),
    test_cfg=dict(nms=dict(type='soft_nms', alpha=0.4, low_threshold=0.5, high_threshold=0.9,
                           top_k=100, pre_top_k=2000)))
