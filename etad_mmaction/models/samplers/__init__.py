"""Samplers shared by Detector Proposal Sampling and Encoder Gradient Sampling
(Sec. 3.3, App. H), registered in ``mmaction.registry.TASK_UTILS``."""
from typing import Union

from mmaction.registry import TASK_UTILS

from .balanced_samplers import IoUBalancedSampler, ScaleBalancedSampler, batched_quotas
from .base_sampler import BaseSampler
from .block_sampler import BlockSampler
from .dpp_sampler import DPPSampler, sample_k_dpp_low_rank
from .fps_sampler import FPSSampler, farthest_point_sampling, farthest_point_sampling_batch
from .greedy_dpp_sampler import GreedyDPPSampler, greedy_dpp_map
from .grid_sampler import GridSampler
from .random_sampler import RandomSampler
from .seeding import sampling_generator, sampling_seed

#: short strategy names (as in the paper) -> registered class names
SAMPLER_STRATEGIES = {
    'random': 'RandomSampler',
    'grid': 'GridSampler',
    'block': 'BlockSampler',
    'fps': 'FPSSampler',
    'dpp': 'DPPSampler',
    'greedy_dpp': 'GreedyDPPSampler',
    'iou_balanced': 'IoUBalancedSampler',
    'scale_balanced': 'ScaleBalancedSampler',
}


#: unambiguous names (not MMDetection's ``RandomSampler`` of ``num``/``pos_fraction``,
#: nor a dataloader ``sampler``): proposal samplers for DPS, snippet samplers for EGS
PROPOSAL_SAMPLERS = {name.replace('Sampler', 'ProposalSampler'): cls for name, cls in (
    ('RandomSampler', RandomSampler), ('GridSampler', GridSampler),
    ('BlockSampler', BlockSampler), ('FPSSampler', FPSSampler), ('DPPSampler', DPPSampler),
    ('GreedyDPPSampler', GreedyDPPSampler), ('IoUBalancedSampler', IoUBalancedSampler),
    ('ScaleBalancedSampler', ScaleBalancedSampler))}
SNIPPET_SAMPLERS = {name.replace('Sampler', 'SnippetSampler'): cls for name, cls in (
    ('RandomSampler', RandomSampler), ('GridSampler', GridSampler),
    ('BlockSampler', BlockSampler), ('FPSSampler', FPSSampler), ('DPPSampler', DPPSampler),
    ('GreedyDPPSampler', GreedyDPPSampler))}
for _name, _cls in {**PROPOSAL_SAMPLERS, **SNIPPET_SAMPLERS}.items():
    TASK_UTILS.register_module(name=_name, module=_cls, force=True)


def build_sampler(cfg: Union[str, dict, BaseSampler], **kwargs) -> BaseSampler:
    """A sampler from a strategy name (``'dpp'``), a config
    ``dict(type='DPPSampler', ratio=0.06)`` or ``dict(strategy='dpp', ...)``;
    an instance is returned as is. Unknown names raise ``ValueError``."""
    if isinstance(cfg, BaseSampler):
        return cfg
    cfg = dict(strategy=cfg) if isinstance(cfg, str) else dict(cfg)
    cfg.update(kwargs)
    if 'strategy' in cfg:
        name = cfg.pop('strategy')
        if name not in SAMPLER_STRATEGIES:
            raise ValueError(f'unknown sampler `strategy`={name!r}, expected one of '
                             f'{sorted(SAMPLER_STRATEGIES)}')
        cfg['type'] = SAMPLER_STRATEGIES[name]
    name = cfg.get('type')
    if isinstance(name, str) and name in SAMPLER_STRATEGIES:
        cfg['type'] = name = SAMPLER_STRATEGIES[name]
    known = set(SAMPLER_STRATEGIES.values()) | set(PROPOSAL_SAMPLERS) | set(SNIPPET_SAMPLERS)
    if name not in known and not isinstance(name, type):
        raise ValueError(f'unknown sampler `type`={name!r}, expected one of '
                         f'{sorted(SAMPLER_STRATEGIES.values())}')
    return TASK_UTILS.build(cfg)


__all__ = [
    'BaseSampler', 'RandomSampler', 'GridSampler', 'BlockSampler', 'FPSSampler',
    'DPPSampler', 'GreedyDPPSampler', 'IoUBalancedSampler', 'ScaleBalancedSampler',
    'SAMPLER_STRATEGIES', 'PROPOSAL_SAMPLERS', 'SNIPPET_SAMPLERS', 'build_sampler',
    'sampling_generator', 'sampling_seed',
    'sample_k_dpp_low_rank', 'farthest_point_sampling',
    'farthest_point_sampling_batch', 'greedy_dpp_map',
    'batched_quotas',
]
