"""The pretrained backbones the app recommends, with where open_clip downloads each from.

These are facts copied from open_clip's pretrained registry (`get_pretrained_cfg(arch, tag)
["hf_hub"]`), so that the app can tell at start-up whether each one is on this computer by
looking at the Hugging Face cache folders, without importing open_clip (and torch) first.
`tests/test_backbone_catalogue.py` checks every entry against the installed open_clip's
registry, so a change there fails the tests instead of showing wrong "downloaded" marks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecommendedBackbone:
    """One suggested (model, weights) pair and the hub file open_clip loads it from."""

    model: str  # the name users know and the app stores (ViT-B-16, not ViT-B-16-quickgelu)
    pretrained: str  # open_clip's pretrained tag
    hf_repo: str  # the hub repo of the registry entry's `hf_hub`
    hf_filename: str = ""  # the file named there ("" = open_clip's default weights name)
    note: str = ""  # why this one is listed, for its tooltip and status line (the label stays short)

    @property
    def label(self) -> str:
        return f"{self.model} · {self.pretrained}"


# Shown first in the chooser, in this order: the paper's backbone and the common open_clip defaults.
RECOMMENDED_BACKBONES: tuple[RecommendedBackbone, ...] = (
    RecommendedBackbone("ViT-B-16", "openai", "timm/vit_base_patch16_clip_224.openai", note="The paper's backbone."),
    RecommendedBackbone("ViT-B-32", "openai", "timm/vit_base_patch32_clip_224.openai"),
    RecommendedBackbone("ViT-L-14", "openai", "timm/vit_large_patch14_clip_224.openai"),
    RecommendedBackbone("ViT-B-16", "laion2b_s34b_b88k", "laion/CLIP-ViT-B-16-laion2B-s34B-b88K"),
    RecommendedBackbone("ViT-B-32", "laion2b_s34b_b79k", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"),
    RecommendedBackbone("ViT-B-16", "datacomp_xl_s13b_b90k", "laion/CLIP-ViT-B-16-DataComp.XL-s13B-b90K"),
)
