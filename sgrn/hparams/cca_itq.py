"""CCA-ITQ's hyper-parameters (Gong et al.): fitted in closed form, not by SGD."""

from __future__ import annotations

from sgrn.hparams import Param

# CCA + ITQ (Gong et al.), fitted in closed form, not by SGD
TABLE: dict[str, Param] = {
    # each modality is first reduced and whitened by PCA to this many dimensions (raised
    # to the code length when smaller; fewer when the data have fewer): CCA's regulariser
    "pca_dim": Param(256, low=1),
    "itq_iters": Param(50, low=1),  # iterations of the ITQ rotation
}
