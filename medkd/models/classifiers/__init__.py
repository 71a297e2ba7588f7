from .features import features_and_logits
from .late_fusion import LateFusionClassifier
from .mimo_classifier import MIMOClassifier, MIMOClsHead

__all__ = [
    'features_and_logits', 'LateFusionClassifier', 'MIMOClassifier',
    'MIMOClsHead'
]
