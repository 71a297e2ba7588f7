import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance

from medkd.models.connectors import ConvConnector
from medkd.models.losses import (ATLoss, FeatureKLLoss, FitNetsLoss,
                                 WassersteinFeatureLoss)
from medkd.registry import MODELS


def _maps(seed, shape=(2, 3, 4, 5)):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def _np_spatial_softmax(x, tau):
    z = x.reshape(x.shape[0], x.shape[1], -1) / tau
    e = np.exp(z - z.max(axis=2, keepdims=True))
    return e / e.sum(axis=2, keepdims=True)


@pytest.mark.parametrize('tau', [1.0, 2.5])
def test_feature_kl_equals_numpy(tau):
    s, t = _maps(0), _maps(1)
    p_s = _np_spatial_softmax(s.numpy(), tau)
    p_t = _np_spatial_softmax(t.numpy(), tau)
    per_map = (p_t * np.log(p_t / p_s)).sum(axis=2)  # (N, C)
    expected = 0.5 * per_map.mean()
    loss = FeatureKLLoss(temperature=tau, loss_weight=0.5)(s, t)
    assert loss.item() == pytest.approx(expected, rel=1e-10)
    assert FeatureKLLoss()(t, t).item() == pytest.approx(0, abs=1e-12)


def _np_normalise(v, how):
    if how == 'minmax':
        return (v - v.min()) / (v.max() - v.min() + 1e-6)
    if how == 'softmax':
        e = np.exp(v - v.max())
        return e / e.sum()
    return v


@pytest.mark.parametrize('how', ['minmax', 'softmax', 'none'])
def test_wasserstein_equals_scipy(how):
    s, t = _maps(2), _maps(3)
    expected = np.mean([
        wasserstein_distance(
            _np_normalise(s[n, c].numpy().ravel(), how),
            _np_normalise(t[n, c].numpy().ravel(), how))
        for n in range(s.shape[0]) for c in range(s.shape[1])
    ])
    loss = WassersteinFeatureLoss(normalize=how, loss_weight=2.0)(s, t)
    assert loss.item() == pytest.approx(2.0 * expected, rel=1e-9)


def test_wasserstein_ignores_position_and_minmax_ignores_scale():
    t = _maps(4)
    # Permuting positions or an affine change of the values keeps the
    # distribution of min-max normalised values.
    s = 3.0 * t.flip(-1).flip(-2) + 1.0
    assert WassersteinFeatureLoss()(s, t).item() == pytest.approx(0, abs=1e-6)
    assert WassersteinFeatureLoss(normalize='none')(s, t).item() > 0.5


def test_losses_reject_shape_mismatch():
    with pytest.raises(ValueError, match='connector'):
        FeatureKLLoss()(_maps(0), _maps(0, (2, 3, 4, 4)))
    with pytest.raises(ValueError, match='connector'):
        WassersteinFeatureLoss()(_maps(0), _maps(0, (2, 4, 4, 5)))
    with pytest.raises(ValueError, match='normalize'):
        WassersteinFeatureLoss(normalize='zscore')


@pytest.mark.parametrize('loss_type',
                         ['FeatureKLLoss', 'WassersteinFeatureLoss'])
def test_gradients_reach_the_connector(loss_type):
    connector = MODELS.build(
        dict(type='ConvConnector', in_channels=4, out_channels=6))
    student = torch.randn(2, 4, 8, 8, requires_grad=True)
    teacher = torch.randn(2, 6, 4, 4)
    projected = connector(student, teacher.shape[-2:])
    assert projected.shape == teacher.shape
    MODELS.build(dict(type=loss_type))(projected, teacher).backward()
    assert connector.conv.weight.grad is not None
    assert connector.conv.weight.grad.abs().sum() > 0
    assert student.grad.abs().sum() > 0


def test_connector_is_1x1_conv_then_bilinear_resize():
    connector = ConvConnector(3, 2)
    x = torch.randn(1, 3, 6, 6)
    conv = torch.nn.functional.conv2d(x, connector.conv.weight,
                                      connector.conv.bias)
    torch.testing.assert_close(connector(x), conv)
    resized = torch.nn.functional.interpolate(
        conv, size=(3, 3), mode='bilinear', align_corners=False)
    torch.testing.assert_close(connector(x, (3, 3)), resized)


def test_fitnets_is_the_mean_squared_error():
    torch.manual_seed(0)
    s, t = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3)
    expected = np.mean((s.numpy() - t.numpy())**2)
    assert FitNetsLoss(loss_weight=0.5)(s, t).item() == pytest.approx(
        0.5 * expected, rel=1e-6)
    with pytest.raises(ValueError, match='connector'):
        FitNetsLoss()(s, torch.randn(2, 5, 3, 3))


def test_attention_transfer_against_numpy():
    torch.manual_seed(1)
    s, t = torch.randn(2, 3, 4, 4), torch.randn(2, 6, 4, 4)  # any channels

    def attention(f):
        q = (np.abs(f)**2).mean(1).reshape(len(f), -1)
        return q / np.linalg.norm(q, axis=1, keepdims=True)

    expected = np.mean((attention(s.numpy()) - attention(t.numpy()))**2)
    assert ATLoss()(s, t).item() == pytest.approx(expected, rel=1e-5)
    assert ATLoss()(t, t).item() == pytest.approx(0.0, abs=1e-12)
    # a student map of another size is resized to the teacher's
    assert ATLoss()(torch.randn(2, 3, 8, 8), t).item() > 0
