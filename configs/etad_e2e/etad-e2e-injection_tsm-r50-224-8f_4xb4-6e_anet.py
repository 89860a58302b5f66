# As etad-e2e_tsm-r50-224-8f_4xb4-6e_anet.py, with EGS by gradient injection: all snippets
# forward without gradients, the detector's dL/dF is injected into a chunked re-forward
# of the sampled 30%. Peak memory depends on the chunk, not on the ratio: 2.1 GB per
# video at chunk 4 (the default, fastest under 2.5 GB) vs 9.9 GB single pass (H200,
# docs/benchmarks.md), for 0.60 s vs 0.27-0.47 s per video and step.
_base_ = ['./etad-e2e_tsm-r50-224-8f_4xb4-6e_anet.py']

model = dict(egs=dict(mode='injection', chunk_size=4))
