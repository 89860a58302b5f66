# Inexact speed options, reference row "exact": the sweep benchmark as it is
# (float32 everywhere, DPS 6% random): the same training as Table 8's 3-stage row.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

ablation = dict(same_as='table8/stages-3', row='exact (float32)', order=0)
