# App. A.1 discussion beside Table 7: the LSTM branch in the forward direction only
# (early snippets never see later context); not a row of the paper's table.
_base_ = ['../table8/stages-1.py']

model = dict(neck=dict(direction='forward'))
ablation = dict(_delete_=True, row='LSTM (forward only)', order=4)
