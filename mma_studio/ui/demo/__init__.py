"""The Demo page: classify an image with the trained adapter or an adapter file, with any class names."""
