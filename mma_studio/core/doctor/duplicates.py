"""Exact and near-duplicate groups, and what each one is: a duplicate within a class, a
conflict across classes, or a leak across the training / validation / test sets.

Two stages, both near-linear in the number of images:
1. candidates from the cached embeddings: blockwise cosine >= `EMBEDDING_THRESHOLD` (0.90),
   each image's 16 closest later images at most (`similar_pairs`);
2. confirmation by an 8 x 8 colour signature of the pictures (`image_signature`) >=
   `SIGNATURE_THRESHOLD` (0.95), or of one picture against a sub-window of the other >=
   `CROP_THRESHOLD` (0.97; a crop), of the same mean colour (within 8 of 255), computed only
   for images in a candidate pair.
Confirmed pairs (and exact-copy groups from the scan) are joined into groups (union-find).

Why these thresholds (measured with `mma-tiny · shapes` on the example dataset: 1,200
images, 30 classes, 23,400 same-class pairs, and 180 planted copies, 6 of each class):
- embedding cosine of a copy to its original: resized x2 / x0.75 >= 0.999, JPEG q75 >= 0.980,
  JPEG q50 >= 0.930, 5 % centred crop >= 0.796 (10th percentile 0.917). 0.90 keeps every
  resized and re-encoded copy and ~93 % of the crops. But distinct images of one class reach
  0.999 too (the toy model sees *what* is drawn, and every blue circle is a blue circle), so
  the embedding alone cannot tell copies from siblings.
- signature cosine: resized >= 0.999, JPEG q75 >= 0.997, q50 >= 0.993, 5 % crop 10th
  percentile 0.932; 0.95 keeps ~77 % of the crops. With both thresholds, 7 of the 23,400
  same-class pairs passed, renders of a plain circle, and no pair across classes (at 0.93,
  three cross-class pairs did). With the sub-windows and the mean-colour test below
  (`image_signature`), 2 same-class pairs are confirmed: plain green circles on
  near-identical backgrounds.
- off-centre crops that cut 10 % of one corner failed the whole-frame signature (median
  0.86): such a crop moves the subject. The sub-window match (`crop_similarity` >= 0.97, see
  `image_signature`) confirms 29 of 30 such crops and every 3-7 % centred crop, with no pair
  across classes; what still misses them is the embedding stage: with the toy model 21 of 30
  corner crops reach cosine 0.90 (the lowest 0.77); a real backbone is steadier.
A stronger backbone (ViT-B/16) separates copies from siblings by embedding alone; the
signature stage then only removes nothing, at the cost of one small decode per candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from mma_studio.core.cancellation import CancelToken, check
from mma_studio.core.doctor.findings import CONFLICT, DUPLICATE, LEAK, Finding
from mma_studio.core.doctor.image_signature import (
    crop_similarity,
    image_signatures,
    signature_similarity,
)
from mma_studio.core.doctor.similar_pairs import similar_pairs
from mma_studio.core.doctor.union_find import UnionFind

EMBEDDING_THRESHOLD = 0.90
SIGNATURE_THRESHOLD = 0.95
CROP_THRESHOLD = 0.97  # more windows, more chances for a look-alike: a stricter bar
TRAINING_SETS = ("train", "val")


def duplicate_findings(
    features: torch.Tensor,
    paths: Sequence[Path],
    classes: Sequence[str],
    *,
    sets: Sequence[str | None] | None = None,
    exact_groups: Sequence[Sequence[int]] = (),
    display_names: dict[str, str] | None = None,
    embedding_threshold: float = EMBEDDING_THRESHOLD,
    signature_threshold: float = SIGNATURE_THRESHOLD,
    token: CancelToken | None = None,
    on_step=None,
) -> list[Finding]:
    """Findings of kind DUPLICATE, CONFLICT or LEAK, each group once, surest first.

    `sets[i]` is the split set of image i ("train", "val", "test") or None when unsplit;
    `exact_groups` are index groups known to be the same bytes or the same file.
    """
    n = len(paths)
    names = display_names or {}
    first, second, embedding_sims = similar_pairs(features, embedding_threshold, token=token, on_block=on_step)
    involved = sorted(set(first.tolist()) | set(second.tolist()))
    signatures = dict(zip(involved, image_signatures([paths[i] for i in involved], token=token)))

    groups = UnionFind(n)
    best: dict[tuple[int, int], float] = {}
    for count, (i, j, sim) in enumerate(zip(first.tolist(), second.tolist(), embedding_sims.tolist())):
        if count % 512 == 0:
            check(token)  # a weak model finds many candidate pairs: stay cancellable
        shown = signature_similarity(signatures[i], signatures[j])
        if shown < signature_threshold:
            crop = crop_similarity(signatures[i], signatures[j])
            if crop >= CROP_THRESHOLD:
                shown = crop  # one is a crop of the other
        if shown >= signature_threshold:
            groups.union(i, j)
            best[(i, j)] = min(sim, shown)
    exact_member: dict[int, int] = {}
    for number, group in enumerate(exact_groups):
        group = list(group)
        for index in group:
            exact_member[index] = number
            groups.union(group[0], index)

    score_of: dict[int, float] = {}
    for (i, _j), value in best.items():
        root = groups.find(i)
        score_of[root] = max(score_of.get(root, 0.0), value)
    members = set(exact_member) | {i for pair in best for i in pair}
    findings = []
    for group in groups.groups(members):
        exact = len({exact_member.get(i, -1 - i) for i in group}) == 1
        score = 1.0 if exact else min(1.0, score_of.get(groups.find(group[0]), 1.0))
        group_classes = tuple(classes[i] for i in group)
        group_sets = tuple((sets[i] if sets is not None else None) or "" for i in group)
        findings.append(_describe(group, paths, group_classes, group_sets, score, exact, names))
    findings.sort(key=lambda f: (-f.score, str(f.paths[0])))
    return findings


def _describe(group, paths, classes, sets, score, exact, names) -> Finding:
    what = "identical copies" if exact else "near-identical images"
    shown = [repr(names.get(c, c)) for c in dict.fromkeys(classes)]
    group_paths = tuple(paths[i] for i in group)
    if len(set(classes)) > 1:
        return Finding(
            CONFLICT,
            group_paths,
            classes,
            score,
            f"{len(group)} {what} filed under {' and '.join(shown)}: which label is right?",
            sets=sets,
            exact=exact,
        )
    used = {s for s in sets if s}
    if len(used) > 1:
        if used & set(TRAINING_SETS) and "test" in used:
            why = "the test images were seen in training, so test accuracy is inflated"
        else:
            why = "the validation images were seen in training, so the chosen epoch is optimistic"
        return Finding(
            LEAK,
            group_paths,
            classes,
            score,
            f"{len(group)} {what} in {shown[0]} sit in {' and '.join(sorted(used))}: {why}",
            sets=sets,
            exact=exact,
        )
    return Finding(
        DUPLICATE,
        group_paths,
        classes,
        score,
        f"{len(group)} {what} in {shown[0]}: each counts as another example",
        sets=sets,
        exact=exact,
    )
