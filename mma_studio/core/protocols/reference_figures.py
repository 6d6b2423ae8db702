"""Published zero-shot CLIP figures under the base-to-new protocol, to set beside ours.

Source: Zhou, Yang, Loy and Liu, "Conditional Prompt Learning for Vision-Language Models"
(CoCoOp), CVPR 2022, Table 1, row "CLIP" (ViT-B/16, hand-crafted prompt, 16 shots).
Accuracy in percent: (base, new, HM).
"""

from __future__ import annotations

COCOOP_CLIP_CITATION = (
    "Zhou et al., Conditional Prompt Learning for Vision-Language Models (CoCoOp), CVPR 2022, Table 1, CLIP (ViT-B/16)"
)

COCOOP_CLIP_REFERENCE: dict[str, tuple[float, float, float]] = {
    "Average": (69.34, 74.22, 71.70),
    "ImageNet": (72.43, 68.14, 70.22),
    "Caltech101": (96.84, 94.00, 95.40),
    "OxfordPets": (91.17, 97.26, 94.12),
    "StanfordCars": (63.37, 74.89, 68.65),
    "Flowers102": (72.08, 77.80, 74.83),
    "Food101": (90.10, 91.22, 90.66),
    "FGVCAircraft": (27.19, 36.29, 31.09),
    "SUN397": (69.36, 75.35, 72.23),
    "DTD": (53.24, 59.90, 56.37),
    "EuroSAT": (56.48, 64.05, 60.03),
    "UCF101": (70.53, 77.50, 73.85),
}
