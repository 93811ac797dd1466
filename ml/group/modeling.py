"""The group layers, top to bottom: AGREE-style attention over members, group scores, compatibility.

For a group with members ``j`` and a candidate item ``i`` (Cao et al. 2018, AGREE):

* member vectors ``u_j = tanh(W_u e_j)`` from the members' taste-text encodings ``e_j`` (BERT);
* item vectors ``v_i = W_f f_i + b`` from the item's tag mix (no item-id embedding: the member
  NCF carries the item-level collaborative signal, and an id embedding or per-item bias here
  let the layers memorise each member's hidden training items instead of learning how groups
  choose);
* each member's NCF preference for the item, as features ``p_ji = [z_ji, l_ji]``: the
  member's standardised NCF score and its log-probability under the member's softmax over the
  catalogue;
* attention ``a_ji = softmax_j(w^T tanh(A u_j + B v_i + C p_ji))``: how much member ``j`` weighs
  for item ``i`` (it sees both who the member is and how much they want this item);
* the group vector for the item ``g_i = sum_j a_ji u_j``;
* the group score ``y_i = h^T x_i + MLP(g_i * v_i)`` where ``x_i`` holds the classic
  aggregations of the members' preferences (mean, min and max of ``z``), the group's
  preference as an attention-weighted mixture of the members' NCF distributions,
  ``log sum_j a_ji exp(l_ji)`` (with equal weights: the chance the item is among *someone's*
  next artists), the attention-weighted standardised preference ``sum_j a_ji z_ji``, and the
  group's context: how many of the members' other friends play the item (``log(1 + count)``)
  and the item's standardised log popularity.

The attention starts uniform, ``h`` on the mixture alone and the MLP's last layer at zero, so
the untrained layers rank like the union-probability policy; training moves away from it only
as far as validation groups reward.

The compatibility head scores a pair of listeners from similarity features (learned taste
vectors, tags, artists, NCF preferences): ``sigma(c + sum_k softplus(w_k) s_k)``. Its weights
are positive, so more similar taste never lowers compatibility.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ml.group.config import GroupConfig

PREFERENCE_FEATURES = 2
CONTEXT_FEATURES = 2
AGGREGATES = 5 + CONTEXT_FEATURES
MEAN_PROBABILITY = 3  # the index of log sum_j a_ji p_ji among the aggregates
COMPATIBILITY_FEATURES = 4
MEMBER_DROPOUT = 0.2


@dataclass(frozen=True)
class GroupOutput:
    """Scores ``(B, C)`` of the candidates, member weights ``(B, M, C)``."""

    scores: torch.Tensor
    weights: torch.Tensor


class GroupLayers(nn.Module):
    def __init__(self, config: GroupConfig, n_features: int, text_dim: int) -> None:
        super().__init__()
        d, a = config.dim, config.attention_dim
        self.member = nn.Linear(text_dim, d)
        self.member_dropout = nn.Dropout(MEMBER_DROPOUT)
        self.item_features = nn.Linear(max(n_features, 1), d)
        self.attend_member = nn.Linear(d, a)
        self.attend_item = nn.Linear(d, a, bias=False)
        self.attend_preference = nn.Linear(PREFERENCE_FEATURES, a, bias=False)
        self.attend_out = nn.Linear(a, 1, bias=False)
        self.mix = nn.Linear(AGGREGATES, 1, bias=False)
        self.interaction = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.mix.weight.zero_()
            self.mix.weight[0, MEAN_PROBABILITY] = 1.0  # start as the union-probability policy
        nn.init.zeros_(self.attend_out.weight)  # equal member weights to start
        last = self.interaction[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def member_vectors(self, text: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.member(text))

    def item_vectors(self, features: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.item_features(features)
        return result

    def forward(
        self,
        text: torch.Tensor,
        member_mask: torch.Tensor,
        item_features: torch.Tensor,
        preferences: torch.Tensor,
        context: torch.Tensor,
    ) -> GroupOutput:
        """Score candidates for a batch of groups.

        Parameters
        ----------
        text : (B, M, H) members' taste-text encodings (padding rows are ignored).
        member_mask : (B, M) bool, True for real members.
        item_features : (B, C, F) the candidates' tag mixes.
        preferences : (B, M, C, 2) standardised NCF scores and NCF log-probabilities.
        context : (B, C, 2) friends-of-members counts (log1p) and standardised log popularity.
        """
        u = self.member_dropout(self.member_vectors(text))  # B M d
        v = self.item_vectors(item_features)  # B C d
        hidden = torch.tanh(
            self.attend_member(u)[:, :, None, :]
            + self.attend_item(v)[:, None, :, :]
            + self.attend_preference(preferences)
        )  # B M C a
        logits = self.attend_out(hidden).squeeze(-1)  # B M C
        mask = member_mask[:, :, None]
        weights = torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=1)
        group = torch.einsum("bmc,bmd->bcd", weights, u)
        z, logp = preferences[..., 0], preferences[..., 1]
        count = member_mask.sum(1).clamp(min=1)[:, None].to(z.dtype)
        big = torch.finfo(z.dtype).max / 4
        aggregates = torch.cat(
            [
                torch.stack(
                    [
                        (z * mask).sum(1) / count,
                        z.masked_fill(~mask, big).min(1).values,
                        z.masked_fill(~mask, -big).max(1).values,
                        torch.logsumexp(
                            (logp + weights.clamp(min=1e-12).log()).masked_fill(~mask, -big), 1
                        ),
                        (weights * z).sum(1),
                    ],
                    dim=-1,
                ),
                context,
            ],
            dim=-1,
        )  # B C 7
        scores = self.mix(aggregates).squeeze(-1) + self.interaction(group * v).squeeze(-1)
        return GroupOutput(scores=scores, weights=weights)


class CompatibilityHead(nn.Module):
    """Logit ``c + sum_k softplus(w_k) s_k`` over similarity features ``s`` (monotone).

    ``quantiles`` (a buffer) holds the 0th..100th percentiles of the logits of real friend
    pairs, so a logit reads as "a better match than P % of friend pairs".
    """

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(COMPATIBILITY_FEATURES))
        self.bias = nn.Parameter(torch.zeros(()))
        self.quantiles: torch.Tensor
        self.register_buffer("quantiles", torch.zeros(101))

    def percentile(self, logits: torch.Tensor) -> torch.Tensor:
        """0-100: the share of friend pairs with a lower logit (interpolated, clamped)."""
        q = self.quantiles
        below = torch.searchsorted(q, logits.contiguous(), right=False).clamp(1, len(q) - 1)
        lo, hi = q[below - 1], q[below]
        frac = ((logits - lo) / (hi - lo).clamp(min=1e-12)).clamp(0.0, 1.0)
        out = (below - 1).to(logits.dtype) + frac
        out = torch.where(logits <= q[0], torch.zeros_like(out), out)
        return torch.where(logits >= q[-1], torch.full_like(out, 100.0), out)

    def forward(self, similarities: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.bias + similarities @ nn.functional.softplus(self.weight)
        return logits


class GroupLayersNumpy:
    """:class:`GroupLayers` in evaluation mode for one group, in numpy (the serving path).

    A web request scores one group over a few hundred candidates; at that size torch's
    per-operator dispatch costs more than the arithmetic (about 2.5 ms against 0.3 ms here).
    The item side (``v_i`` and ``B v_i``) depends only on the model, so it is computed once
    for every item; a request only gathers the candidates' rows. ``tests/ml/group`` checks
    the scores and weights equal the module's.
    """

    def __init__(self, layers: GroupLayers, item_features: np.ndarray) -> None:
        def arr(t: torch.Tensor) -> np.ndarray:
            return t.detach().cpu().numpy().astype(np.float32)

        self.member_w, self.member_b = arr(layers.member.weight).T, arr(layers.member.bias)
        self.attend_member_w = arr(layers.attend_member.weight).T
        self.attend_member_b = arr(layers.attend_member.bias)
        self.attend_preference_w = arr(layers.attend_preference.weight).T  # 2 x a
        self.attend_out_w = arr(layers.attend_out.weight)[0]  # a
        self.mix_w = arr(layers.mix.weight)[0]  # 7
        first, last = layers.interaction[0], layers.interaction[-1]
        assert isinstance(first, nn.Linear) and isinstance(last, nn.Linear)
        self.hidden_w, self.hidden_b = arr(first.weight).T, arr(first.bias)
        self.out_w, self.out_b = arr(last.weight)[0], float(arr(last.bias)[0])
        features = np.asarray(item_features, dtype=np.float32)
        self.item_vectors = features @ arr(layers.item_features.weight).T + arr(
            layers.item_features.bias
        )  # items x d
        self.item_attention = self.item_vectors @ arr(layers.attend_item.weight).T  # items x a

    def forward(
        self, text: np.ndarray, items: np.ndarray, preferences: np.ndarray, context: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores ``(C,)`` and member weights ``(M, C)`` of item rows ``items`` for one group.

        ``text`` (M, H), ``preferences`` (M, C, 2), ``context`` (C, 2), as in
        :meth:`GroupLayers.forward` with a batch of one and every member real.
        """
        u = np.tanh(np.asarray(text, np.float32) @ self.member_w + self.member_b)  # M d
        v = self.item_vectors[items]  # C d
        hidden = np.tanh(
            (u @ self.attend_member_w + self.attend_member_b)[:, None, :]
            + self.item_attention[items][None, :, :]
            + preferences @ self.attend_preference_w
        )  # M C a
        logits = hidden @ self.attend_out_w  # M C
        logits = logits - logits.max(axis=0, keepdims=True)
        weights = np.exp(logits)
        weights /= weights.sum(axis=0, keepdims=True)
        group = weights.T @ u  # C d
        z, logp = preferences[..., 0], preferences[..., 1]
        mixed = logp + np.log(np.maximum(weights, 1e-12))
        top = mixed.max(axis=0)
        aggregates = np.concatenate(
            [
                np.stack(
                    [
                        z.mean(axis=0),
                        z.min(axis=0),
                        z.max(axis=0),
                        top + np.log(np.exp(mixed - top).sum(axis=0)),
                        (weights * z).sum(axis=0),
                    ],
                    axis=-1,
                ),
                context,
            ],
            axis=-1,
        )  # C 7
        interaction = np.maximum((group * v) @ self.hidden_w + self.hidden_b, 0.0)
        scores = aggregates @ self.mix_w + interaction @ self.out_w + self.out_b
        return scores.astype(np.float32), weights.astype(np.float32)
