# Inexact speed options, row "bf16 RoI layer": the fused RoI + first FC layer of
# every stage in bfloat16 (`stage_head.roi_matmul_dtype`), everything else float32.
_base_ = ['./exact.py']

model = dict(roi_head=dict(stage_head=dict(roi_matmul_dtype='bfloat16')))
ablation = dict(_delete_=True, row='bf16 RoI layer', order=1)
