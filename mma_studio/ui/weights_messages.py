"""What the app says when a backbone's weights cannot be downloaded or loaded: one message in
plain words, with what the user can do in the app (never command-line options)."""

from __future__ import annotations

MODEL_NOT_LOADED = "The model could not be loaded"


def weights_failure(label: str, reason: str, *, downloading: bool = True) -> str:
    """`reason` is the engine's `BackboneLoadError.reason` (the why, without its CLI hint)."""
    lowered = reason.lower()
    verb = "downloaded" if downloading else "loaded"
    if "hf_hub_offline" in lowered:
        return (
            f"{label} could not be {verb}: downloads of models are switched off on this computer "
            "(offline mode). Choose a weights file you already have, or switch offline mode off and "
            "click Download."
        )
    if "unreachable" in lowered or "offline" in lowered or "network" in lowered:
        return (
            f"{label} could not be {verb}: this computer cannot reach the download site. Connect to the "
            "internet and click Download again, or choose a weights file you already have."
        )
    if "only distributed by url" in lowered:
        return f"{label} cannot be downloaded by MMA Studio. Choose a weights file you already have."
    why = reason.split(" To fix:")[0].strip().rstrip(".")
    if not downloading:
        fix = (
            "Delete that file and download the model again, or choose"
            if "damaged" in lowered
            else "Choose another model, or"
        )
        return f"{label} could not be loaded: {why}. {fix} a weights file you already have."
    return (
        f"{label} could not be {verb} ({why}). Click Download to try again (a download resumes where "
        "it stopped), or choose a weights file you already have."
    )


def weights_missing(label: str) -> str:
    return (
        f"{label} is not on this computer yet. Download it once (it is kept for offline use), "
        "or choose a weights file you already have."
    )
