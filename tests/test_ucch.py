"""UCCH baseline: contrast, memory and ranking loss against plain-loop references, training
(and resume with the memory), bad input."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from toy_data import clustered_features, validation_prior

from sgrn.data.errors import DataError
from sgrn.hparams import resolve_method_params
from sgrn.hparams.ucch import min_bits
from sgrn.methods import build_method
from sgrn.methods.ucch import UCCH, memory_columns, ranking_loss
from sgrn.training.train import TrainConfig, train

# --------------------------------------------------------------------------- references
# Written from method.md section 9 with loops over lists, sharing no code with sgrn.


def unit(r):
    norm = max(math.sqrt(sum(x * x for x in r)), 1e-12)
    return [x / norm for x in r]


def sign(r):
    return [1.0 if x >= 0 else -1.0 for x in r]


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def ref_ranking(h_i, h_t, margin, shift):
    u_i, u_t = [unit(r) for r in h_i], [unit(r) for r in h_t]
    m = len(u_i)
    s = [[dot(u_i[i], u_t[j]) for j in range(m)] for i in range(m)]
    i2t = t2i = 0.0
    for i in range(m):  # image i against every text j
        row = [s[i][j] if s[i][j] >= s[i][i] - margin else s[i][j] - shift for j in range(m)]
        i2t += -s[i][i] + math.log(sum(math.exp(x) for x in row)) + margin
    for j in range(m):  # text j against every image i
        col = [s[i][j] if s[i][j] >= s[j][j] - margin else s[i][j] - shift for i in range(m)]
        t2i += -s[j][j] + math.log(sum(math.exp(x) for x in col)) + margin
    return i2t / m + t2i / m


def ref_ce(logits, target):
    return -logits[target] + math.log(sum(math.exp(x) for x in logits))


def ref_contrast(h_i, h_t, codes, columns, temperature):
    """Sum over both modalities of the mean CE of row i over codes[columns[i]], positive first."""
    total = 0.0
    for h in (h_i, h_t):
        rows = [unit(r) for r in h]
        c = len(rows[0])
        for i, u in enumerate(rows):
            logits = [dot(codes[j], u) / (temperature * math.sqrt(c)) for j in columns[i]]
            total += ref_ce(logits, 0) / len(rows)
    return total


def ref_update(memory, index, h_i, h_t, momentum):
    out = [list(r) for r in memory]
    for row, i in enumerate(index):
        mean = unit([(a + b) / 2 for a, b in zip(unit(h_i[row]), unit(h_t[row]))])
        out[i] = unit([momentum * x + (1 - momentum) * y for x, y in zip(memory[i], mean)])
    return out


N, M, BITS = 12, 4, 6


def built(**params):
    """A UCCH of N training pairs (targets on all of them, as the trainer's global graph)."""
    g = torch.Generator().manual_seed(1)
    method = UCCH(batch_size=N, **params)
    full = method.targets(torch.rand(N, 5, generator=g), torch.rand(N, 7, generator=g))
    torch.manual_seed(2)
    method.build((5, 7), BITS)
    method.memory.double()
    return method, full


def batch_outputs(seed):
    g = torch.Generator().manual_seed(seed)
    return torch.tanh(torch.randn(2, M, BITS, generator=g, dtype=torch.float64))


BATCH = torch.tensor([7, 2, 11, 4])


# --------------------------------------------------------------------------- loss, memory


def test_index_target_slices_to_the_batch():
    method, full = built()
    assert method.n == N and full["index"].shape == (N, N)
    assert full["index"].stride() == (1, 0)  # an expanded view: no n x n allocation
    sliced = full["index"][BATCH][:, BATCH]  # what the trainer's TargetSource does
    assert torch.equal(sliced, BATCH[:, None].expand(M, M))


def test_ranking_loss_matches_loops():
    h_i, h_t = batch_outputs(3)
    for margin, shift in ((0.2, 0.1), (0.0, 1.0), (2.0, 0.5)):
        out = ranking_loss(torch.nn.functional.normalize(h_i, dim=1), torch.nn.functional.normalize(h_t, dim=1),
                           margin, shift)
        assert out.item() == pytest.approx(ref_ranking(h_i.tolist(), h_t.tolist(), margin, shift), rel=1e-12)


@pytest.mark.parametrize("negatives", [0, 5, 11, 30])
def test_loss_and_memory_update_match_loops(negatives):
    method, full = built(negatives=negatives, warmup=0, alpha=0.6, temperature=0.5, momentum=0.3)
    h_i, h_t = batch_outputs(4)
    memory = method.memory.memory.detach().clone().tolist()
    codes = [sign(r) for r in memory]
    if negatives == 0 or negatives >= N - 1:  # every memory code, the pair's own first
        columns = [[int(i)] + list(range(N)) for i in BATCH]
        # (the positive column counted once: drop its second occurrence)
        columns = [[c[0]] + [j for j in c[1:] if j != c[0]] for c in columns]
    else:  # draws among the N - 1 other codes: j, or j + 1 from the pair's own index on
        torch.manual_seed(9)
        drawn = torch.randint(0, N - 1, (M, negatives))
        columns = [[int(i)] + [j + (j >= int(i)) for j in drawn[r].tolist()] for r, i in enumerate(BATCH)]
    torch.manual_seed(9)
    total, terms = method.loss(h_i, h_t, {"index": full["index"][BATCH][:, BATCH]})
    contrast = ref_contrast(h_i.tolist(), h_t.tolist(), codes, columns, 0.5)
    ranking = ref_ranking(h_i.tolist(), h_t.tolist(), 0.2, 0.1)
    assert terms["contrast"].item() == pytest.approx(contrast, rel=1e-12)
    assert terms["ranking"].item() == pytest.approx(ranking, rel=1e-12)
    assert total.item() == pytest.approx(0.6 * contrast + 0.4 * ranking, rel=1e-12)
    after = method.memory.memory.tolist()
    expected = ref_update(memory, BATCH.tolist(), h_i.tolist(), h_t.tolist(), 0.3)
    assert np.allclose(after, expected, atol=1e-14, rtol=0)
    untouched = [i for i in range(N) if i not in BATCH.tolist()]
    assert [after[i] for i in untouched] == [memory[i] for i in untouched]
    assert int(method.memory.steps) == 1


def test_a_rows_own_code_is_never_among_its_drawn_negatives():
    torch.manual_seed(0)
    index = torch.arange(7).repeat(600)
    columns = memory_columns(index, 7, 5)
    assert columns.shape == (4200, 6) and torch.equal(columns[:, 0], index)
    assert not (columns[:, 1:] == index[:, None]).any()
    for i in range(7):  # the six other codes are all drawn, about equally often (500 times)
        counts = torch.bincount(columns[index == i, 1:].flatten(), minlength=7)
        others = torch.cat([counts[:i], counts[i + 1:]])
        assert counts[i] == 0 and others.sum() == 3000 and others.min() > 400


def test_a_memory_smaller_than_the_negatives_contrasts_with_each_code_once():
    """MIRFlickr sample: 530 codes, 4,096 negatives. Drawn with replacement over all codes, a
    row's own code would be about 4096 / 530 of its negatives; every code once instead."""
    assert memory_columns(BATCH, N, 4096) is None and memory_columns(BATCH, N, N - 1) is None
    assert memory_columns(BATCH, N, 0) is None and memory_columns(BATCH, N, N - 2).shape == (M, N - 1)
    h_i, h_t = batch_outputs(4)
    losses = []
    for negatives in (0, 4096):
        method, full = built(negatives=negatives, warmup=0)
        losses.append(method.loss(h_i, h_t, {"index": full["index"][BATCH][:, BATCH]})[1]["contrast"].item())
    assert losses[1] == pytest.approx(losses[0], rel=1e-12)


def test_warmup_contrasts_within_the_batch_and_fills_the_memory():
    """warmup = 1 epoch = N // M steps: in-batch contrast against sign(h^_I + h^_T), memory
    rows replaced by the codes (momentum 0); the step after it uses the memory."""
    method, full = built(warmup=1, negatives=0, temperature=0.7)
    for step in range(N // M + 1):
        batch = torch.tensor([(step * M + r) % N for r in range(M)])
        h_i, h_t = batch_outputs(10 + step)
        memory = method.memory.memory.detach().clone().tolist()
        _, terms = method.loss(h_i, h_t, {"index": full["index"][batch][:, batch]})
        warm = step < N // M
        if warm:
            codes = [sign([a + b for a, b in zip(unit(x), unit(y))]) for x, y in zip(h_i.tolist(), h_t.tolist())]
            columns = [[r] + [j for j in range(M) if j != r] for r in range(M)]
        else:
            codes = [sign(r) for r in memory]
            columns = [[int(i)] + [j for j in range(N) if j != int(i)] for i in batch]
        expected = ref_contrast(h_i.tolist(), h_t.tolist(), codes, columns, 0.7)
        assert terms["contrast"].item() == pytest.approx(expected, rel=1e-12), step
        after = method.memory.memory.tolist()
        moved = ref_update(memory, batch.tolist(), h_i.tolist(), h_t.tolist(), 0.0 if warm else 0.4)
        assert np.allclose(after, moved, atol=1e-14, rtol=0), step


def test_gradients_reach_the_outputs_not_the_memory():
    method, full = built(warmup=0)
    h_i, h_t = (h.clone().requires_grad_() for h in batch_outputs(5))
    total, _ = method.loss(h_i, h_t, {"index": full["index"][BATCH][:, BATCH]})
    total.backward()
    assert h_i.grad.abs().sum() > 0 and h_t.grad.abs().sum() > 0
    assert method.memory.memory.grad is None and not method.memory.memory.requires_grad
    assert [m for m in method.modules()] == [method.memory]


# --------------------------------------------------------------------------- training


def run(feats, epochs=10, resume=None, bits=16, **params):
    cfg = TrainConfig(epochs=epochs, validate_every=1, checkpoint_every=2, text_hidden=32, device="cpu",
                      num_threads=1)
    states, records = [], []

    def save_state(state):  # serialised at once, as the pipeline does (live tensors)
        buffer = io.BytesIO()
        torch.save(state, buffer)
        states.append(torch.load(io.BytesIO(buffer.getvalue()), weights_only=False))

    ckpt = train(feats, "ucch", resolve_method_params("ucch", params, cfg.batch_size), bits, 0, cfg,
                 on_epoch=lambda e, r: records.append(r), resume=resume, save_state=save_state)
    return ckpt, records, states


def test_training_beats_the_label_prior_and_resumes_exactly():
    feats = clustered_features()
    prior = validation_prior(feats)
    ckpt, records, states = run(feats)
    assert ckpt["val_map_all"] > prior + 0.15  # measured 0.839 (prior 0.567)
    assert records[-1]["val_map_all"] > records[0]["val_map_all"]
    assert set(ckpt["model"]) == {"image", "text"}  # the memory is not part of the model
    # the memory travels in the training state: resuming after epoch 4 ends with the same model
    state = states[1]
    assert len(state["history"]) == 4 and state["modules"][0]["steps"] == 4 * (256 // 32)
    resumed, again, _ = run(feats, resume=state)
    for net in ("image", "text"):
        for key, value in ckpt["model"][net].items():
            assert torch.equal(resumed["model"][net][key], value), (net, key)
    assert [r["loss"] for r in again] == [r["loss"] for r in records]


# --------------------------------------------------------------------------- bad input


def test_a_code_length_the_memory_cannot_hold_is_refused_before_training():
    feats = clustered_features()  # 256 training pairs: at least 8 bits
    assert (min_bits(256), min_bits(257), min_bits(1100), min_bits(2)) == (8, 9, 11, 1)
    seen = []
    with pytest.raises(DataError, match=r"ucch: bits=7 give 128 codes, fewer than the 256 training pairs"
                                        r".*use at least 8 bits"):  # a user error: one line, exit 2
        train(feats, "ucch", resolve_method_params("ucch", {}, 32), 7, 0,
              TrainConfig(epochs=1, text_hidden=32, device="cpu"), on_epoch=lambda e, r: seen.append(r))
    assert seen == []
    method, _ = built()
    with pytest.raises(ValueError, match=r"bits=3 give 8 codes, fewer than the 12 .*at least 4 bits"):
        method.build((5, 7), 3)
    with pytest.raises(RuntimeError, match="targets over the training set first"):
        UCCH().build((5, 7), 16)


@pytest.mark.parametrize("key,value,message", [
    ("momentum", 1.0, r"ucch: momentum=1\.0 must be below 1"),
    ("momentum", 1.5, r"ucch: parameter momentum=1\.5 is out of range: allowed 0 <= momentum <= 1"),
    ("global_graph", False, r"ucch: global_graph=False does not fit.*use global_graph: true"),
    ("temperature", 0.0, r"ucch: parameter temperature=0\.0 is out of range: allowed temperature > 0"),
    ("negatives", -1, r"ucch: parameter negatives=-1 is out of range"),
    ("alpha", 1.5, r"ucch: parameter alpha=1\.5 is out of range"),
    ("warmup", 0.5, r"ucch: parameter warmup=0\.5 must be an integer"),
])
def test_bad_value_names_the_key(key, value, message):
    with pytest.raises(ValueError, match=message):
        build_method("ucch", {key: value}, 32)
