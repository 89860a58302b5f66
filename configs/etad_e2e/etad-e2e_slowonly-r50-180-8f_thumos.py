# Renamed (MMAction2's naming: batch and schedule in the name) to
# etad-e2e_slowonly-r50-180-8f_4xb4-6e_thumos.py;
# this name keeps working until the next release.
_base_ = ['./etad-e2e_slowonly-r50-180-8f_4xb4-6e_thumos.py']
