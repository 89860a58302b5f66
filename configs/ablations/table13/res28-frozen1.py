# Table 13 (App. F), row "112x112, frozen stages 1": as the frozen-2 row at crop 28 (the
# paper's 112; the synthetic videos are 64 px) and EGS 100%, the first 1 encoder stages frozen.
_base_ = ['./res28-frozen2.py']

model = dict(encoder=dict(frozen_stages=1))
ablation = dict(_delete_=True, row='112px, frozen 1', order=4,
                paper=dict(avg_mAP=35.52, memory_gb=17.0))
