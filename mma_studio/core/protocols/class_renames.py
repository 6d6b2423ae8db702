"""The readable class names CoOp substitutes for raw folder names (copied from its readers:
caltech101.py's NEW_CNAMES and IGNORED, eurosat.py's NEW_CNAMES).

CoOp's split files were written after the renaming, so a released split already holds these
names; applying the map again is harmless, and it fixes a split written from raw folders.
"""

CALTECH101_IGNORED = ("BACKGROUND_Google", "Faces_easy")
CALTECH101_RENAMES = {
    "airplanes": "airplane",
    "Faces": "face",
    "Leopards": "leopard",
    "Motorbikes": "motorbike",
}

EUROSAT_RENAMES = {
    "AnnualCrop": "Annual Crop Land",
    "Forest": "Forest",
    "HerbaceousVegetation": "Herbaceous Vegetation Land",
    "Highway": "Highway or Road",
    "Industrial": "Industrial Buildings",
    "Pasture": "Pasture Land",
    "PermanentCrop": "Permanent Crop Land",
    "Residential": "Residential Buildings",
    "River": "River",
    "SeaLake": "Sea or Lake",
}
