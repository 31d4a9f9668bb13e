"""CCA-ITQ (Gong et al., TPAMI 2013): the classical shallow baseline of cross-modal hashing.

Each modality is centred, reduced and whitened by scikit-learn's PCA; CCA of the two
whitened modalities is then the SVD of their cross-covariance (the canonical directions are
its singular vectors, the canonical correlations its singular values), which projects both
into one c-dimensional space; ITQ learns one rotation R of that space on the training pairs
of both modalities so that sign(V R) loses as little as possible. (scikit-learn's own CCA
solves the same problem by NIPALS iterations: on 630 pairs it took 47 s for 64 components of
128-d inputs without converging, where the SVD takes milliseconds; tests/test_cca_itq.py
checks that both find the same canonical correlations on a problem NIPALS can solve.) The whole map of a modality
is affine, x -> x W + b, so it is stored as the Linear layer of a hash net (sign(tanh(z)) =
sign(z)) and encodes, evaluates and searches like every other method. Fitted in closed form
on the training pairs, not trained by SGD; features are used as they are.
"""

from __future__ import annotations

import numpy as np

from sgrn.methods.base import FitError, Method


class TooFewDirections(FitError):
    """The features or the training pairs give fewer CCA directions than the code length."""


def affine_map(transform, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) with transform(x) = x W + b for an affine ``transform`` of d-dimensional rows."""
    b = transform(np.zeros((1, d)))[0]
    return transform(np.eye(d)) - b, b


def canonical_directions(z_img: np.ndarray, z_txt: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray]:
    """CCA of two centred, whitened matrices (n rows each): the c leading direction pairs.

    The canonical directions are the singular vectors of the cross-covariance, the canonical
    correlations its singular values.
    """
    u, _, vt = np.linalg.svd(z_img.T @ z_txt / (len(z_img) - 1), full_matrices=False)
    return u[:, :c], vt[:c].T


def itq_rotation(v: np.ndarray, iterations: int, rng: np.random.Generator) -> np.ndarray:
    """ITQ: the orthogonal R minimising ||sign(V R) - V R||, alternating B and R (c, c)."""
    c = v.shape[1]
    r, _ = np.linalg.qr(rng.standard_normal((c, c)))
    for _ in range(iterations):
        b = np.where(v @ r >= 0, 1.0, -1.0)
        u, _, wt = np.linalg.svd(b.T @ v)
        r = wt.T @ u.T
    return r


class CCAITQ(Method):
    """Fits the two affine hash maps; `targets`/`loss` do not apply (no SGD)."""

    name = "cca_itq"
    closed_form = True

    def fit(self, x_img: np.ndarray, x_txt: np.ndarray, bits: int, seed: int) -> dict[str, tuple]:
        """{"image": (W, b), "text": (W, b)}: float32 maps of each modality to c = bits dims.

        pca_dim below ``bits`` is raised to ``bits``. Raises TooFewDirections when the features or
        the training pairs give fewer than ``bits`` dimensions.
        """
        # scikit-learn takes seconds to import: only the one method that uses it pays for it.
        from sklearn.decomposition import PCA

        n = len(x_img)
        whiten = {}
        for name, x in (("image", x_img), ("text", x_txt)):
            dim = min(max(self.params["pca_dim"], bits), x.shape[1], n - 1)
            if dim < bits:
                raise TooFewDirections(
                    f"cca_itq: the {name} features ({x.shape[1]}-d, {n} training pairs) give "
                    f"{dim} PCA dimensions; {bits} bits need at least {bits} (CCA finds at most "
                    f"min(dimension, pairs - 1) directions: use at most {dim} bits for cca_itq here)")
            whiten[name] = PCA(n_components=dim, whiten=True, random_state=seed).fit(x)
        z_img, z_txt = whiten["image"].transform(x_img), whiten["text"].transform(x_txt)
        directions = dict(zip(("image", "text"), canonical_directions(z_img, z_txt, bits)))
        affine = {name: affine_map(lambda x, name=name: whiten[name].transform(x) @ directions[name],
                                   x.shape[1])
                  for name, x in (("image", x_img), ("text", x_txt))}
        v = np.concatenate([x @ affine[name][0] + affine[name][1]
                            for name, x in (("image", x_img), ("text", x_txt))])
        r = itq_rotation(v, self.params["itq_iters"], np.random.default_rng(seed))
        return {name: ((w @ r).astype(np.float32), (b @ r).astype(np.float32))
                for name, (w, b) in affine.items()}


METHOD = CCAITQ
