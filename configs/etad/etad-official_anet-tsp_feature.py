# Renamed (MMAction2's naming: batch and schedule in the name) to
# etad-official_1xb16-6e_anet-tsp-feature.py;
# this name keeps working until the next release.
_base_ = ['./etad-official_1xb16-6e_anet-tsp-feature.py']
