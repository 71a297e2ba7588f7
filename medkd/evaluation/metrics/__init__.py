from .medical_metric import MedicalMetric, compute_medical_metrics

__all__ = ['MedicalMetric', 'compute_medical_metrics']
