# Table 5 (DPS column), row "fps (RoI features)": FPS on the proposals' first-stage
# extended-region RoI features, as the paper (Sec. 3.3, App. H); the `fps` row reads
# the pooled stand-in (`roi_head.sampler_features='pooled'`, the default).
_base_ = ['./fps.py']

model = dict(roi_head=dict(sampler_features='roi'))
ablation = dict(_delete_=True, row='fps (RoI features)', order=4.5,
                paper=dict(avg_mAP=33.59))
