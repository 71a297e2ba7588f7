"""Float64 numpy versions of the soft-label losses, written out from the
papers' formulas (shared by the loss and distiller tests). ``pt``, when
given, is the teacher's (already softened) distribution instead of ``t``'s."""
import numpy as np


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def kl(p, q):
    return np.sum(p * np.log(p / q), axis=1)


def zscore(z):
    return (z - z.mean(1, keepdims=True)) / (z.std(1, ddof=1, keepdims=True) +
                                             1e-7)


def np_kd(s, t, temp, pt=None):
    pt = softmax(t / temp) if pt is None else pt
    return temp**2 * kl(pt, softmax(s / temp)).mean()


def np_logit_std(s, t, temp, pt=None):
    pt = softmax(zscore(t) / temp) if pt is None else pt
    return temp**2 * kl(pt, softmax(zscore(s) / temp)).mean()


def np_dkd(s, t, y, alpha, beta, temp, pt=None):
    pt_all = softmax(t / temp) if pt is None else pt
    total = []
    for i in range(len(s)):
        ps, pti = softmax(s[i:i + 1] / temp)[0], pt_all[i]
        bs = np.array([ps[y[i]], 1 - ps[y[i]]])
        bt = np.array([pti[y[i]], 1 - pti[y[i]]])
        tckd = np.sum(bt * np.log(bt / bs))
        rest = [j for j in range(len(ps)) if j != y[i]]
        hs, ht = ps[rest] / ps[rest].sum(), pti[rest] / pti[rest].sum()
        nckd = np.sum(ht * np.log(ht / hs))
        total.append(temp**2 * (alpha * tckd + beta * nckd))
    return np.mean(total)


def pearson(a, b):
    a, b = a - a.mean(), b - b.mean()
    return np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-8)


def np_dist(s, t, beta, gamma, temp, pt=None):
    ys = softmax(s / temp)
    yt = softmax(t / temp) if pt is None else pt
    inter = 1 - np.mean([pearson(ys[i], yt[i]) for i in range(len(ys))])
    intra = 1 - np.mean(
        [pearson(ys[:, j], yt[:, j]) for j in range(ys.shape[1])])
    return temp**2 * (beta * inter + gamma * intra)
