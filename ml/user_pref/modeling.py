"""NeuMF (GMF + MLP towers) with a history encoder on the user side, top to bottom.

He et al. 2017's NeuMF scores a (user, item) pair with ``h^T [p_u * q_i ; MLP([p'_u ; q'_i])]``.
Here the user vectors ``p_u`` and ``p'_u`` are computed from the user's history (weighted items
and their tags) instead of looked up, which makes fold-in a forward pass. The MLP's first layer
is linear in the concatenation, so it splits into a user part and an item part that are computed
once and broadcast: scoring the whole catalogue costs one ``B x N x H`` activation, not B x N
separate MLP inputs.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from ml.user_pref.config import NCFConfig


class NeuMF(nn.Module):
    def __init__(self, config: NCFConfig, n_items: int, n_features: int) -> None:
        super().__init__()
        d, m = config.embedding_dim, config.mlp_dim
        self.config = config
        # User side: history encoder.
        self.history_items = nn.Parameter(torch.empty(0 if config.tie_embeddings else n_items, d))
        self.history_features = nn.Linear(max(n_features, 1), d, bias=False)
        self.user_bias = nn.Parameter(torch.zeros(d))
        self.user_mlp = nn.Linear(d, m)
        # Item side: GMF and MLP embeddings, plus tag projections.
        self.item_gmf = nn.Embedding(n_items, d)
        self.item_mlp = nn.Embedding(n_items, m)
        self.feature_gmf = nn.Linear(max(n_features, 1), d, bias=False)
        self.feature_mlp = nn.Linear(max(n_features, 1), m, bias=False)
        self.item_bias = nn.Parameter(torch.zeros(n_items))
        # MLP tower; its first layer is split into a user half and an item half.
        hidden = config.mlp_hidden
        self.mlp_user_in = nn.Linear(m, hidden[0], bias=False)
        self.mlp_item_in = nn.Linear(m, hidden[0])
        self.mlp_layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(hidden))
        # Prediction layer h over [GMF vector ; MLP vector].
        self.predict_gmf = nn.Linear(d, 1, bias=False)
        self.predict_mlp = nn.Linear(hidden[-1], 1, bias=False)
        self.dropout = nn.Dropout(config.dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for weight in (self.history_items, self.item_gmf.weight, self.item_mlp.weight):
            if weight.numel() == 0:
                continue
            nn.init.normal_(weight, std=0.05)
        nn.init.ones_(self.predict_gmf.weight)

    def encode_users(
        self, history: torch.Tensor, history_features: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """GMF and MLP user vectors from normalised history rows (items) and their tag profile."""
        encoder = self.item_gmf.weight if self.config.tie_embeddings else self.history_items
        z = history @ encoder + self.history_features(history_features) + self.user_bias
        z = torch.tanh(self.dropout(z))
        return z, torch.relu(self.user_mlp(z))

    def item_vectors(self, item_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gmf = self.item_gmf.weight + self.feature_gmf(item_features)
        mlp = torch.relu(self.item_mlp.weight + self.feature_mlp(item_features))
        return gmf, mlp

    def score_all(
        self,
        user_gmf: torch.Tensor,
        user_mlp: torch.Tensor,
        item_gmf: torch.Tensor,
        item_mlp: torch.Tensor,
        item_bias: torch.Tensor,
    ) -> torch.Tensor:
        """Logits of every given item for every user, ``B x N``."""
        gmf = (user_gmf * self.predict_gmf.weight[0]) @ item_gmf.T
        hidden = torch.relu(
            self.mlp_user_in(user_mlp)[:, None, :] + self.mlp_item_in(item_mlp)[None, :, :]
        )
        for layer in self.mlp_layers:
            hidden = torch.relu(layer(hidden))
        logits: torch.Tensor = gmf + self.predict_mlp(hidden).squeeze(-1) + item_bias
        return logits

    def forward(
        self, history: torch.Tensor, history_features: torch.Tensor, item_features: torch.Tensor
    ) -> torch.Tensor:
        user_gmf, user_mlp = self.encode_users(history, history_features)
        item_gmf, item_mlp = self.item_vectors(item_features)
        return self.score_all(user_gmf, user_mlp, item_gmf, item_mlp, self.item_bias)
