# Table 7 (App. C.1), row "LSTM": the paper's module (both directions), one cascade stage:
# the same training as Table 8's 1-stage row.
_base_ = ['../table8/stages-1.py']

ablation = dict(_delete_=True, same_as='table8/stages-1', row='LSTM', order=3,
                paper=dict(avg_mAP=35.25, memory_gb=0.53, train_time='3min 23s'))
