"""The files a training run leaves in its folder, named once for model and hpo alike."""

LAST_CHECKPOINT = "last.pt"  # everything a run needs to resume; the HPO ships it between hosts
BEST_CHECKPOINT = "best.pt"  # the best epoch's weights, what export and predict use
