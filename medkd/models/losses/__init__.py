from .feature_kl import FeatureKLLoss
from .kd_loss import KDLoss, SoftBCELoss
from .wasserstein import WassersteinFeatureLoss

__all__ = [
    'FeatureKLLoss', 'KDLoss', 'SoftBCELoss', 'WassersteinFeatureLoss'
]
