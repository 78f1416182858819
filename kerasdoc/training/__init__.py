"""Training recipes and callbacks (one-cycle, LR finder, discriminative rates, freeze / unfreeze,
progressive resizing, weight transfer, resumable training)."""
