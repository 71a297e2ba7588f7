from .image_gate import ConfidenceGate, ImageGate

__all__ = ['ConfidenceGate', 'ImageGate']
