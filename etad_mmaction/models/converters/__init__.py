"""Checkpoints of other code bases -> this project's modules (the library parts of
``tools/model_converters/``)."""
from .official_etad import (convert_official_e2e_state_dict, convert_official_state_dict,
                            is_official_e2e)
from .tsp_r2plus1d import TSP_R2PLUS1D_34, convert_tsp_r2plus1d

__all__ = ['convert_official_state_dict', 'convert_official_e2e_state_dict', 'is_official_e2e',
           'convert_tsp_r2plus1d', 'TSP_R2PLUS1D_34']
