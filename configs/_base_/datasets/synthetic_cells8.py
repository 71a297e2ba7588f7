# The data of the gated recipe's transfer check: medkd's synthetic cells
# with 8 classes (the demo's 4 plus basophil, band neutrophil, plasma cell,
# blast), another seed, 100/50/100 images per class, into its own folder.
# A fragment, not a runnable config: configs/demo/cells8/ inherit
# `cells8` from it.
cells8 = dict(
    data_root='data/synthetic_cells8', num_classes=8,
    num_per_class=(100, 50, 100), image_size=64, seed=1)
