# ActivityNet-1.3 with the TSN features of BSN/BMN/G-TAD (Xiong et al. 2016, CUHK):
# 400-d = 200 RGB + 200 optical flow (the setting of Tables 2 and 7-9), stored as
# MMAction2's csv files of 100 rows per video (`csv_mean_100`), rescaled to 128
# snippets (linear interpolation when a video has fewer rows than T).
# Layout and downloads: docs/data_preparation.md.
_base_ = ['./activitynet-tsp_feature.py']

tsn = dict(data_prefix=dict(feature='features/tsn'), feature_dim=400, feature_ext='.csv')
train_dataloader = dict(dataset=tsn)
val_dataloader = dict(dataset=tsn)
test_dataloader = dict(dataset=tsn)
