"""Images far from every class, and classes whose images spread widely.

An image's closeness to a class is its cosine to the class's mean embedding (its own class's
mean computed without it). A blank frame, a screenshot or a photo of the wrong thing is far
from *every* mean; a robust threshold (median minus `OUTLIER_Z` robust standard deviations,
MAD x 1.4826, of the closest-class similarity over all images) adapts to the backbone's
scale, where a fixed cosine would not (the toy model's similarities sit near 0.9, CLIP's
lower). A class's spread is 1 minus the mean cosine of its images to its mean; a class is
flagged when its spread is `SPREAD_Z` robust deviations above the classes' median, which
needs at least `MIN_CLASSES_FOR_SPREAD` classes to mean anything. Both cost O(N x K).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from mma_studio.core.doctor.findings import OUTLIER, SPREAD, Finding

OUTLIER_Z = 12.0  # the clean example dataset's most remote image: robust z -11.4 (mma-tiny)
SPREAD_Z = 3.5
MIN_CLASSES_FOR_SPREAD = 8  # a robust z over fewer classes flags ordinary variation
SPREAD_EXAMPLES = 6  # the farthest images of a widely spread class, shown with the finding
MAD_TO_SD = 1.4826


def robust_z(values: torch.Tensor) -> torch.Tensor:
    median = values.median()
    mad = (values - median).abs().median() * MAD_TO_SD
    return (values - median) / mad.clamp_min(1e-6)


def class_means(unit: torch.Tensor, labels: torch.Tensor, class_count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(K, D) unit class-mean embeddings of L2-normalised `unit` (n, D), and (n,) each image's
    cosine to its own class's mean computed without it."""
    sums = torch.zeros(class_count, unit.shape[1]).index_add_(0, labels, unit)
    own = (F.normalize(sums[labels] - unit, dim=1) * unit).sum(dim=1)
    return F.normalize(sums, dim=1), own


def closest_class_similarity(features: torch.Tensor, labels: torch.Tensor, class_count: int) -> torch.Tensor:
    """(n,) max over classes of cos(x, class mean), the own class's mean without x itself."""
    features = F.normalize(features.float(), dim=1)
    means, own = class_means(features, labels, class_count)
    similarity = features @ means.T  # (n, K): linear in n
    counts = torch.bincount(labels, minlength=class_count)
    alone = counts[labels] <= 1  # a class of one image has no mean without it
    own[alone] = -1.0
    similarity[torch.arange(features.shape[0]), labels] = own
    return similarity.max(dim=1).values


def outlier_findings(
    features: torch.Tensor,
    labels: torch.Tensor,
    paths: Sequence[Path],
    class_names: Sequence[str],
    display_names: dict[str, str] | None = None,
) -> list[Finding]:
    names = display_names or {}
    labels = labels.long()
    findings: list[Finding] = []
    if features.shape[0] < 10:
        return findings
    closest = closest_class_similarity(features, labels, len(class_names))
    z = robust_z(closest)
    for index in (z < -OUTLIER_Z).nonzero(as_tuple=True)[0].tolist():
        cls = class_names[int(labels[index])]
        findings.append(
            Finding(
                OUTLIER,
                (paths[index],),
                (cls,),
                min(1.0, max(0.0, 1.0 - closest[index].item())),
                f"Far from every class (closest similarity {float(closest[index]):.2f}, typical "
                f"{float(closest.median()):.2f}): a blank frame, a screenshot or another subject?",
            )
        )
    findings.sort(key=lambda f: -f.score)

    present = torch.bincount(labels, minlength=len(class_names))
    kept = [j for j in range(len(class_names)) if present[j] >= 3]
    if len(kept) >= MIN_CLASSES_FOR_SPREAD:
        normalised = F.normalize(features.float(), dim=1)
        spreads, members_of = [], []
        for j in kept:
            members = (labels == j).nonzero(as_tuple=True)[0]
            centre = F.normalize(normalised[members].mean(dim=0), dim=0)
            cosines = normalised[members] @ centre
            spreads.append(1.0 - float(cosines.mean()))
            members_of.append((members, cosines))
        spread_z = robust_z(torch.tensor(spreads))
        for position, j in enumerate(kept):
            if spread_z[position] > SPREAD_Z:
                members, cosines = members_of[position]
                farthest = members[cosines.argsort()[:SPREAD_EXAMPLES]].tolist()
                cls = class_names[j]
                findings.append(
                    Finding(
                        SPREAD,
                        tuple(paths[i] for i in farthest),
                        (cls,) * len(farthest),
                        float(min(1.0, spreads[position])),
                        f"The images of {names.get(cls, cls)!r} spread widely (spread {spreads[position]:.2f}, typical "
                        f"{torch.tensor(spreads).median().item():.2f}): two kinds of thing under one name? "
                        "Its farthest images are shown.",
                    )
                )
    return findings
