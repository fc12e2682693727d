"""Sampling designs with known inclusion probabilities, driven by permanent random numbers."""

from schemas import __version__

from .allocation import allocate
from .base import DESIGN_COLUMNS, BaseSampler, Sample
from .importance import ImportanceSampler
from .phase2 import Phase2Sampler
from .poisson import PoissonSampler
from .prn import ALGORITHM, hash64, prn
from .source import Source
from .strata import Strata
from .stratified import StratifiedSampler

SAMPLERS = {"stratified": StratifiedSampler, "poisson": PoissonSampler,
            "importance": ImportanceSampler}

__all__ = [
    "ALGORITHM", "DESIGN_COLUMNS", "SAMPLERS", "BaseSampler", "ImportanceSampler",
    "Phase2Sampler", "PoissonSampler", "Sample", "Source", "Strata", "StratifiedSampler",
    "allocate", "hash64", "__version__", "prn",
]
