# Table 13 (App. F), row "112x112, frozen stages 3": as the frozen-2 row at crop 28 (the
# paper's 112; the synthetic videos are 64 px) and EGS 100%, the first 3 encoder stages frozen.
_base_ = ['./res28-frozen2.py']

model = dict(encoder=dict(frozen_stages=3))
ablation = dict(_delete_=True, row='112px, frozen 3', order=2,
                paper=dict(avg_mAP=35.01, memory_gb=4.6))
