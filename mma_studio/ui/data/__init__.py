"""The Data page: the dataset drop zone, the class table, the split editor, the backbone chooser and the scan's health report."""
