"""The Multi-Modal Adapter (MMA, arXiv 2409.02958) over frozen CLIP embeddings.

For one image the adapter sees the sequence S = [t_1 .. t_N, x] of L2-normalised class text
embeddings and the image embedding. It down-projects S, runs masked multi-head attention,
up-projects, L2-normalises, and blends the result into the inputs with a fixed factor λ:
t'_c = norm((1-λ) t_c + λ â_c), x' = norm((1-λ) x + λ â_x); logits are τ <x', t'_c>.

With the default cross-modal mask (text attends only to the image, the image only to the
texts) two shortcuts are exact, and the fast path uses them:
- each text query has a single admissible key, so every class token receives the same
  vector, which depends only on the image: â_text(b) = norm(up(out_proj(v(x_b))));
- since t_c and â are unit vectors, ||(1-λ) t_c + λ â||² = (1-λ)² + λ² + 2λ(1-λ)<t_c, â>, so
  the logits come from B×N dot products without a B×N×D tensor of adapted class embeddings.
The `full` mask (every token attends to every token) uses the general sequence path.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

import torch
import torch.nn.functional as F
from torch import nn

from mma_studio.core.run_defaults import (
    ADAPT_CHOICES,
    MASK_CHOICES,
    MAX_BOTTLENECK_DIM,
    PROJECTION_CHOICES,
)


@dataclass(frozen=True)
class AdapterConfig:
    """Hyperparameters of the adapter; `embed_dim` is filled in from the backbone."""

    embed_dim: int = 512
    bottleneck_dim: int | None = None  # None -> embed_dim // 4
    heads: int = 4
    blend: float = 0.2  # λ
    adapt: str = "both"  # which modality receives the adapter's output
    mask: str = "cross-modal"
    projection: str = "linear"  # "mlp": a two-layer bottleneck on each side
    logit_scale: float = 100.0  # τ of the frozen CLIP

    def __post_init__(self) -> None:
        if self.adapt not in ADAPT_CHOICES:
            raise ValueError(f"adapt must be one of {ADAPT_CHOICES}, not {self.adapt!r}")
        if self.mask not in MASK_CHOICES:
            raise ValueError(f"mask must be one of {MASK_CHOICES}, not {self.mask!r}")
        if self.projection not in PROJECTION_CHOICES:
            raise ValueError(f"projection must be one of {PROJECTION_CHOICES}, not {self.projection!r}")
        if not 0.0 <= self.blend <= 1.0:
            raise ValueError(f"blend (lambda) must lie in [0, 1], not {self.blend}")
        if self.embed_dim <= 0 or self.heads <= 0:
            raise ValueError("embed_dim and heads must be positive")
        if self.bottleneck_dim is not None and not 0 <= self.bottleneck_dim <= MAX_BOTTLENECK_DIM:  # 0: D/4
            # checked before any weight is allocated: a mistyped 100000 would ask for ~120 GB
            raise ValueError(f"bottleneck dimension must be 1 to {MAX_BOTTLENECK_DIM}, not {self.bottleneck_dim}")
        if self.resolved_bottleneck_dim % self.heads:
            raise ValueError(
                f"bottleneck dimension {self.resolved_bottleneck_dim} must be divisible by heads {self.heads}"
            )

    @property
    def resolved_bottleneck_dim(self) -> int:
        return self.bottleneck_dim if self.bottleneck_dim else max(1, self.embed_dim // 4)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["bottleneck_dim"] = self.resolved_bottleneck_dim
        return data

    @classmethod
    def from_dict(cls, data: dict) -> AdapterConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def with_embed_dim(self, embed_dim: int, logit_scale: float | None = None) -> AdapterConfig:
        changes: dict = {"embed_dim": embed_dim}
        if logit_scale is not None:
            changes["logit_scale"] = float(logit_scale)
        return replace(self, **changes)


def _projection(in_dim: int, out_dim: int, shape: str) -> nn.Module:
    if shape == "linear":
        return nn.Linear(in_dim, out_dim)
    hidden = max(in_dim, out_dim) // 2 if in_dim != out_dim else in_dim
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, out_dim))


def cross_modal_mask(num_classes: int, device=None) -> torch.Tensor:
    """Boolean (N+1, N+1) mask, True = blocked: only text<->image pairs may attend."""
    is_image = torch.zeros(num_classes + 1, dtype=torch.bool, device=device)
    is_image[-1] = True
    allowed = is_image[:, None] ^ is_image[None, :]
    return ~allowed


class MultiModalAdapter(nn.Module):
    """MMA over final CLIP embeddings. `forward(image_features (B, D), text_features (N, D))` -> logits (B, N)."""

    def __init__(
        self,
        embed_dim: int = 512,
        bottleneck_dim: int | None = None,
        heads: int = 4,
        blend: float = 0.2,
        adapt: str = "both",
        mask: str = "cross-modal",
        projection: str = "linear",
        logit_scale: float = 100.0,
    ) -> None:
        super().__init__()
        self.config = AdapterConfig(
            embed_dim=embed_dim,
            bottleneck_dim=bottleneck_dim,
            heads=heads,
            blend=blend,
            adapt=adapt,
            mask=mask,
            projection=projection,
            logit_scale=logit_scale,
        )
        hidden = self.config.resolved_bottleneck_dim
        self.down = _projection(embed_dim, hidden, projection)
        self.attn = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.up = _projection(hidden, embed_dim, projection)

    @classmethod
    def from_config(cls, config: AdapterConfig) -> MultiModalAdapter:
        return cls(**{f.name: getattr(config, f.name) for f in fields(AdapterConfig)})

    @property
    def blend(self) -> float:
        return self.config.blend

    def forward(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        image_features = F.normalize(image_features, dim=-1)
        text_features = F.normalize(text_features, dim=-1)
        if self.config.mask == "cross-modal":
            return self._cross_modal_logits(image_features, text_features)
        return self._sequence_logits(image_features, text_features)

    # -- fast path: exact for the cross-modal mask, O(B·N·d), no B×N×D tensor ------------------

    def _cross_modal_logits(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        lam = self.config.blend
        tau = self.config.logit_scale
        adapt_text = self.config.adapt in ("both", "text")
        adapt_image = self.config.adapt in ("both", "image")

        z_image = self.down(image)  # (B, d)
        w_q, w_k, w_v = self.attn.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.attn.in_proj_bias.chunk(3)
        v_image = F.linear(z_image, w_v, b_v)  # (B, d)

        if adapt_image:
            z_text = self.down(text)  # (N, d): projected once per batch, not once per image
            image_query = F.linear(z_image, w_q, b_q)
            text_keys = F.linear(z_text, w_k, b_k)
            text_values = F.linear(z_text, w_v, b_v)
            attended = self._image_attends_texts(image_query, text_keys, text_values)
            a_image = F.normalize(self.up(self.attn.out_proj(attended)), dim=-1)
            image = F.normalize((1 - lam) * image + lam * a_image, dim=-1)

        if not adapt_text:
            return tau * image @ text.t()

        # Every class token attends only to the image: its attention output is out_proj(v_image).
        a_text = F.normalize(self.up(self.attn.out_proj(v_image)), dim=-1)  # (B, D), shared by all classes
        cosine_text = image @ text.t()  # (B, N)  <x', t_c>
        cosine_shared = (image * a_text).sum(-1, keepdim=True)  # (B, 1)  <x', â>
        text_dot_shared = a_text @ text.t()  # (B, N)  <â, t_c>
        squared_norm = (1 - lam) ** 2 + lam**2 + 2 * lam * (1 - lam) * text_dot_shared
        numerator = (1 - lam) * cosine_text + lam * cosine_shared
        return tau * numerator / squared_norm.clamp_min(1e-12).sqrt()

    def _image_attends_texts(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Multi-head attention of B image queries over N shared text keys: (B, d)."""
        heads = self.attn.num_heads
        batch, dim = query.shape
        head_dim = dim // heads
        q = query.view(batch, heads, head_dim).transpose(0, 1)  # (h, B, hd)
        k = keys.view(-1, heads, head_dim).transpose(0, 1)  # (h, N, hd)
        v = values.view(-1, heads, head_dim).transpose(0, 1)  # (h, N, hd)
        scores = q @ k.transpose(1, 2) / math.sqrt(head_dim)  # (h, B, N)
        out = scores.softmax(dim=-1) @ v  # (h, B, hd)
        return out.transpose(0, 1).reshape(batch, dim)

    # -- general path: the literal sequence computation (any mask) ------------------------------

    def adapted_embeddings(self, image: torch.Tensor, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x' (B, D) and t' (B, N, D) from the literal sequence computation.

        Builds B sequences of N+1 tokens: meant for the `full` mask, for inspection and for
        tests; training with the cross-modal mask never calls it.
        """
        image = F.normalize(image, dim=-1)
        text = F.normalize(text, dim=-1)
        batch, num_classes = image.shape[0], text.shape[0]
        sequence = torch.cat([text.unsqueeze(0).expand(batch, -1, -1), image.unsqueeze(1)], dim=1)
        z = self.down(sequence)
        mask = cross_modal_mask(num_classes, device=image.device) if self.config.mask == "cross-modal" else None
        attended, _ = self.attn(z, z, z, attn_mask=mask, need_weights=False)
        adapted = F.normalize(self.up(attended), dim=-1)
        lam = self.config.blend
        text_out = text.unsqueeze(0).expand(batch, -1, -1)
        image_out = image
        if self.config.adapt in ("both", "text"):
            text_out = F.normalize((1 - lam) * text_out + lam * adapted[:, :num_classes], dim=-1)
        if self.config.adapt in ("both", "image"):
            image_out = F.normalize((1 - lam) * image + lam * adapted[:, num_classes], dim=-1)
        return image_out, text_out

    def _sequence_logits(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        image_out, text_out = self.adapted_embeddings(image, text)
        return self.config.logit_scale * torch.einsum("bd,bnd->bn", image_out, text_out)


def zero_shot_logits(image_features: torch.Tensor, text_features: torch.Tensor, logit_scale: float) -> torch.Tensor:
    """Frozen CLIP without adapter: τ <x, t_c> on normalised embeddings."""
    return logit_scale * F.normalize(image_features, dim=-1) @ F.normalize(text_features, dim=-1).t()


def trainable_parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
