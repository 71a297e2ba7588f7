from .at_loss import ATLoss
from .build import build_kd_loss, check_loss_weights
from .dist_loss import DISTLoss, MultiLabelDISTLoss
from .dkd_loss import DKDLoss
from .feature_kl import FeatureKLLoss
from .fitnets_loss import FitNetsLoss
from .kd_loss import KDLoss, SoftBCELoss, SoftLabelLoss
from .logit_std_kd import LogitStdKDLoss
from .wasserstein import WassersteinFeatureLoss

__all__ = [
    'ATLoss', 'DISTLoss', 'DKDLoss', 'FeatureKLLoss', 'FitNetsLoss',
    'KDLoss', 'LogitStdKDLoss', 'MultiLabelDISTLoss',
    'SoftBCELoss', 'SoftLabelLoss', 'WassersteinFeatureLoss', 'build_kd_loss',
    'check_loss_weights'
]
