# Renamed (MMAction2's naming: batch and schedule in the name) to
# etad-e2e_tsm-r18-56-2f_1xb4-8e_synthetic-video.py;
# this name keeps working until the next release.
_base_ = ['./etad-e2e_tsm-r18-56-2f_1xb4-8e_synthetic-video.py']
