from .class_balanced import ClassBalancedSampler

__all__ = ['ClassBalancedSampler']
