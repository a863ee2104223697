"""Sources: where samples come from (psutil counters) and the pure maths that makes them rates."""

from .psutil_sampler import PsutilSampler, Sampler
from .rates import counter_rate, cpu_percent
from .synthetic import SyntheticSampler

__all__ = ["PsutilSampler", "Sampler", "SyntheticSampler", "counter_rate", "cpu_percent"]
