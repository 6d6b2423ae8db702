"""Likely label errors by confident learning (Northcutt, Jiang and Chuang, "Confident Learning:
Estimating Uncertainty in Dataset Labels", JAIR 70, 2021; the method behind cleanlab).

Given each image's predicted class probabilities (held out: zero-shot, or an adapter's
out-of-fold predictions) and its folder label:
1. per-class threshold t_j = the mean probability of class j over the images labelled j
   (the class's average self-confidence), so a class the model is unsure of everywhere is
   not drowned by a confident one;
2. an image is *confidently* of class j when p_j >= t_j (the highest such p_j if several);
   counting (given label, confident class) pairs gives the confident joint;
3. its off-diagonal entries are the likely label errors (cleanlab's
   `filter_by="confident_learning"`), ranked by the margin p_suggested - p_given: how sure
   the disagreement is.
cleanlab is not a dependency: this is its core in a few lines, on probabilities we already have.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LabelIssue:
    index: int
    given: int
    suggested: int
    margin: float  # p_suggested - p_given, in (0, 1]


def per_class_thresholds(probabilities: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(K,) mean self-confidence per class; +inf for a class with no labelled image."""
    k = probabilities.shape[1]
    thresholds = torch.full((k,), float("inf"))
    for j in range(k):
        mine = labels == j
        if mine.any():
            thresholds[j] = probabilities[mine, j].mean()
    return thresholds


def confident_joint(probabilities: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """((K, K) counts of (given, confident) label pairs, (n,) confident label or -1 if none)."""
    probabilities = probabilities.float()
    labels = labels.long()
    thresholds = per_class_thresholds(probabilities, labels)
    above = probabilities >= thresholds.unsqueeze(0)
    masked = torch.where(above, probabilities, torch.full_like(probabilities, -1.0))
    confident = masked.argmax(dim=1)
    confident[~above.any(dim=1)] = -1
    k = probabilities.shape[1]
    joint = torch.zeros(k, k, dtype=torch.long)
    has = confident >= 0
    joint.index_put_((labels[has], confident[has]), torch.ones(int(has.sum()), dtype=torch.long), accumulate=True)
    return joint, confident


def find_label_issues(probabilities: torch.Tensor, labels: torch.Tensor) -> list[LabelIssue]:
    """The off-diagonal of the confident joint, surest disagreement first."""
    _, confident = confident_joint(probabilities, labels)
    labels = labels.long()
    wrong = ((confident >= 0) & (confident != labels)).nonzero(as_tuple=True)[0]
    issues = []
    for index in wrong.tolist():
        given, suggested = int(labels[index]), int(confident[index])
        margin = float(probabilities[index, suggested] - probabilities[index, given])
        if margin > 0:
            issues.append(LabelIssue(index, given, suggested, margin))
    issues.sort(key=lambda issue: (-issue.margin, issue.index))
    return issues
