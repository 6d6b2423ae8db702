"""Widgets shared by several pages: banners, progress rows, thumbnails, naming and page styling, adapter summaries."""
