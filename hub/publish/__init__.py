"""Publishing: model cards (and, later, Hub uploads)."""
