"""What every method shares: checked hyper-parameters, the standardised flags, the cosine graphs."""

from __future__ import annotations

from torch import Tensor, nn

from sgrn.graphs import cosine_graph
from sgrn.hparams import check_standardised, resolve_method_params


class FitError(ValueError):
    """A closed-form fit that cannot give what was asked (the user picks other settings)."""


class Method:
    """A family's targets and loss for one batch; subclasses set `name` and implement both.

    A family that owns trainable modules builds them in `build` and lists them in `modules`;
    one that needs the batch's input features in its loss sets ``uses_features``.

    ``batch_size`` is the number of rows each graph will have (a batch, or n for a global
    graph); ``standardised`` = (image, text): whether each modality's features were z-scored,
    so that its cosine graph is (1 + cos) / 2 (method.md section 3).
    """

    name = ""
    closed_form: bool = False
    """True: fitted on the training pairs by `fit`, not trained by SGD on targets and a loss."""
    uses_features: bool = False
    """True: the trainer calls ``loss(h_img, h_txt, targets, features=(f_img, f_txt))``."""
    module_lr: float | None = None
    """Learning rate of the modules' optimiser; None: the image net's (the method's lr, else train.lr_image)."""
    graph_safe: bool = True
    """False: the trainer never captures this method's step as a CUDA graph (its targets or
    loss hold an operation not checked under capture); train.cuda_graphs auto trains it eagerly."""

    def __init__(
        self,
        batch_size: int | None = None,
        *,
        standardised: tuple[bool, bool] = (False, False),
        **params: object,
    ) -> None:
        self.params = resolve_method_params(self.name, params, batch_size)
        self.standardised = check_standardised(self.name, standardised)

    def __repr__(self) -> str:
        args = [f"{k}={v!r}" for k, v in self.params.items()]
        return f"{type(self).__name__}({', '.join(args)}, standardised={self.standardised!r})"

    def build(self, dims: tuple[int, int], bits: int) -> None:
        """Create the method's trainable modules, if any, for features of ``dims`` = (image,
        text) and codes of ``bits``; called by the trainer once, after its hash nets and
        under the same seeded torch RNG. The default creates nothing."""

    def modules(self) -> list[nn.Module]:
        """Trainable modules the method owns (decoders, a common representation), made by
        `build`: the trainer moves them to the device, optimises their parameters with an SGD
        optimiser of their own and keeps them in the training state, not in model.pt."""
        return []

    def fit_to_training_set(self, x_img: Tensor, x_txt: Tensor, rows: int) -> dict[str, float]:
        """Fit, before training, what the targets take from the training set's features (all n
        rows; ``rows``: the rows of each target graph, a batch or n): called by the trainer
        once, without any RNG of its own; returns the fitted values, which the trainer logs and
        records in the checkpoint. The default fits nothing."""
        return {}

    def cosine_graphs(self, f_img: Tensor, f_txt: Tensor) -> tuple[Tensor, Tensor]:
        """C_I and C_T in [0, 1] (section 3), each with its modality's mapping."""
        std_img, std_txt = self.standardised
        return (cosine_graph(f_img.detach().float(), standardised=std_img),
                cosine_graph(f_txt.detach().float(), standardised=std_txt))
