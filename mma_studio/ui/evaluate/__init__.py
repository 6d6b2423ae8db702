"""The Evaluate page: figures against zero-shot, the per-class table, the confusion matrix and the image gallery."""
