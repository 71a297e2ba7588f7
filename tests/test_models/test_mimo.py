import pytest
import torch
import torch.nn.functional as F
from mmengine.analysis import get_model_complexity_info
from mmpretrain.structures import DataSample

from medkd.registry import MODELS
from conftest import tiny_classifier

SLOTS = (3, 1, 2)


def tiny_mimo(num_classes=4, slot_channels=SLOTS):
    return MODELS.build(
        dict(
            type='MIMOClassifier',
            slot_channels=slot_channels,
            backbone=dict(
                type='SimpleConvNet', channels=(4, 8), kernel_sizes=(3, 3)),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='MIMOClsHead', num_classes=num_classes, in_channels=8)))


def samples(gt, slot_labels=None):
    out = []
    for i, label in enumerate(gt):
        sample = DataSample().set_gt_label(label)
        if slot_labels is not None:
            sample.set_field(torch.tensor(slot_labels[i]), 'slot_labels')
        out.append(sample)
    return out


def test_shapes_attributes_and_channel_check():
    model = tiny_mimo()
    assert model.backbone.blocks[0][0].in_channels == 6
    assert model.num_slots == 3 and model.num_classes == 4
    assert model.head.fc.out_features == 12
    assert [model.slot_slice(m)
            for m in range(3)] == [slice(0, 3),
                                   slice(3, 4),
                                   slice(4, 6)]
    assert model(torch.randn(2, 6, 8, 8)).shape == (2, 3, 4)
    with pytest.raises(ValueError, match='backbone.in_channels is 3'):
        MODELS.build(
            dict(
                type='MIMOClassifier',
                slot_channels=SLOTS,
                backbone=dict(type='SimpleConvNet', in_channels=3),
                head=dict(num_classes=4, in_channels=128)))


def test_loss_is_the_sum_of_per_slot_cross_entropies():
    torch.manual_seed(0)
    model = tiny_mimo()
    model.init_weights()
    x = torch.randn(5, 6, 8, 8)
    slot_labels = torch.randint(0, 4, (5, 3))
    logits = model(x).double()
    expected = sum(
        F.cross_entropy(logits[:, m], slot_labels[:, m]) for m in range(3))
    loss = model(x, samples([0] * 5, slot_labels.tolist()), mode='loss')
    torch.testing.assert_close(
        loss['loss'].double(), expected, rtol=1e-5, atol=1e-6)
    # Without slot labels (test-time sample), every head uses gt_label.
    gt = [1, 0, 3, 2, 2]
    expected = sum(
        F.cross_entropy(logits[:, m], torch.tensor(gt)) for m in range(3))
    loss = model(x, samples(gt), mode='loss')
    torch.testing.assert_close(
        loss['loss'].double(), expected, rtol=1e-5, atol=1e-6)


def test_predict_averages_the_heads_softmax():
    torch.manual_seed(1)
    model = tiny_mimo()
    model.init_weights()
    with torch.no_grad():
        model.head.fc.weight.normal_(0, 1)
    x = torch.randn(4, 6, 8, 8)
    with torch.no_grad():
        feats = model.neck(model.backbone(x))[-1]
        logits = (feats @ model.head.fc.weight.T + model.head.fc.bias)
        probs = logits.view(4, 3, 4).softmax(-1)
        preds = model(x, samples([0, 1, 2, 3]), mode='predict')
    for i, pred in enumerate(preds):
        torch.testing.assert_close(pred.head_scores, probs[i])
        torch.testing.assert_close(pred.pred_score, probs[i].mean(0))
        assert pred.pred_label.item() == probs[i].mean(0).argmax().item()
    assert not torch.allclose(probs[:, 0], probs[:, 1])


def test_shufflenet_multi_input_widens_the_stem_only():
    single = MODELS.build(dict(type='ShuffleNetV2MultiInput'))
    multi = MODELS.build(dict(type='ShuffleNetV2MultiInput', in_channels=12))
    assert multi.conv1.conv.weight.shape == (24, 12, 3, 3)
    extra = sum(p.numel() for p in multi.parameters()) - sum(
        p.numel() for p in single.parameters())
    assert extra == 24 * 9 * 9  # 216 per extra channel, paper: +0.002M
    assert multi(torch.randn(1, 12, 64, 64))[-1].shape == (1, 1024, 2, 2)


def early_and_mimo(backbone, feat):
    early = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(backbone, in_channels=12),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=5, in_channels=feat)))
    mimo = MODELS.build(
        dict(
            type='MIMOClassifier',
            slot_channels=(3, 3, 3, 3),
            backbone=backbone,
            neck=dict(type='GlobalAveragePooling'),
            head=dict(num_classes=5, in_channels=feat)))
    return early.eval(), mimo.eval()


def test_mimo_costs_within_2_percent_of_early_fusion():
    """Seed 002's complexity claim (Table 1, ShuffleNetV2: 1.276M vs 1.261M
    params, 172.19M vs 172.17M FLOPs)."""
    early, mimo = early_and_mimo(dict(type='ShuffleNetV2MultiInput'), 1024)
    shape = (12, 32, 32)
    a = get_model_complexity_info(
        early, shape, show_table=False, show_arch=False)
    b = get_model_complexity_info(
        mimo, shape, show_table=False, show_arch=False)
    assert b['params'] - a['params'] == 1024 * 15 + 15  # 3 more 5-way heads
    assert 1 < b['params'] / a['params'] < 1.02
    assert 1 < b['flops'] / a['flops'] < 1.02


def test_resnet34_mimo_params_match_the_paper():
    """Table 1, ResNet-34: 21.315M (early fusion) and 21.323M (MM-MIMO)."""
    early, mimo = early_and_mimo(dict(type='ResNet', depth=34), 512)
    count = [sum(p.numel() for p in m.parameters()) for m in (early, mimo)]
    assert round(count[0] / 1e6, 3) == 21.315
    assert round(count[1] / 1e6, 3) == 21.323


def test_late_fusion_averages_member_probabilities(tmp_path):
    torch.manual_seed(0)
    members = {
        'rgb': tiny_classifier(num_classes=3, in_channels=3),
        'gray': tiny_classifier(num_classes=3, in_channels=1),
    }
    saved = MODELS.build(members['gray'])
    with torch.no_grad():
        for p in saved.parameters():
            p.normal_()
    ckpt = str(tmp_path / 'gray.pth')
    torch.save({'state_dict': saved.state_dict()}, ckpt)
    model = MODELS.build(
        dict(
            type='LateFusionClassifier',
            slot_channels=(3, 1),
            members=dict(
                rgb=dict(model=members['rgb']),
                gray=dict(model=members['gray'], ckpt=ckpt))))
    model.init_weights()  # keeps the loaded member
    for a, b in zip(model.members['gray'].parameters(), saved.parameters()):
        assert torch.equal(a, b)
    assert model.num_classes == 3
    model.eval()
    saved.eval()
    x = torch.randn(4, 4, 8, 8)
    with torch.no_grad():
        p_rgb = model.members['rgb'](x[:, :3]).softmax(1)
        p_gray = saved(x[:, 3:]).softmax(1)
        expected = (p_rgb + p_gray) / 2
        preds = model(x, samples([0, 1, 2, 0]), mode='predict')
        logits = model(x)
    torch.testing.assert_close(
        torch.stack([p.pred_score for p in preds]), expected)
    torch.testing.assert_close(preds[2].pred_score_gray, p_gray[2])
    torch.testing.assert_close(logits.softmax(1), expected)
    losses = model(x, samples([0, 1, 2, 0]), mode='loss')
    assert sorted(losses) == ['loss_gray', 'loss_rgb']
    with pytest.raises(ValueError, match='expected 4 input channels'):
        model(torch.randn(1, 3, 8, 8))
