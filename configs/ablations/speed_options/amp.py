# Inexact speed options, row "bf16 autocast": the training step under bf16 autocast,
# as `tools/train.py --amp` sets it on a CPU (CPUBf16OptimWrapper: CPU autocast only,
# on a GPU this row would train in float32); the RoI layer's tiles then run in bf16
# too. Validation and test run in float32.
_base_ = ['./exact.py']

optim_wrapper = dict(type='CPUBf16OptimWrapper')
ablation = dict(_delete_=True, row='bf16 autocast (--amp)', order=2)
