from .late_fusion import LateFusionClassifier
from .mimo_classifier import MIMOClassifier, MIMOClsHead

__all__ = ['LateFusionClassifier', 'MIMOClassifier', 'MIMOClsHead']
