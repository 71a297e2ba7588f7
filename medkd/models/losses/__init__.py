from .kd_loss import KDLoss, SoftBCELoss

__all__ = ['KDLoss', 'SoftBCELoss']
