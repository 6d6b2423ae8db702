"""The engine: everything MMA Studio does with images, features, adapters and files, without Qt.

The app (`mma_studio.ui`) and the command line (`mma_studio.cli`) call into this package and
never the other way round; the import-linter contracts in pyproject.toml check it. Importing
the package costs nothing: each module imports torch and friends only where it needs them.
"""
