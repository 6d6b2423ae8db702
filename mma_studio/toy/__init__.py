"""The demo backbone `mma-tiny` · `shapes`: a tiny CLIP this project trains itself.

- `shapes`: captioned images of coloured shapes, generated (numpy only), with held-out pairs.
- `pretrain`: contrastive pretraining from scratch, the zero-shot report, the weights file.
- `example_dataset`: the "Try an example" folders, in a shifted look that adaptation can fix.

`python -m mma_studio.toy train | eval | example` runs them; `mma_studio/resources/mma-tiny-shapes.md`
is the model card. Nothing is imported here, so `mma_studio.toy.shapes` stays torch-free.
"""
