"""Generate medkd's synthetic blood-cell data (SyntheticCells) into a folder.

    python tools/misc/make_demo_data.py --out data/synthetic_cells
    python tools/misc/make_demo_data.py --out data/cells_mm --modalities 4
    python tools/misc/make_demo_data.py --out data/cells_attr --multi-label

The datasets generate the same data on first use; this tool does it ahead of
time (e.g. before a multi-GPU run, or to look at the images). An existing
folder made with the same parameters is reused; one made with other
parameters is an error.
"""
import argparse

from medkd.datasets.synthetic import generate_synthetic_cells


def parse_args():
    parser = argparse.ArgumentParser(
        description='Generate the SyntheticCells demo data.')
    parser.add_argument(
        '--out', default='data/synthetic_cells', help='output folder')
    parser.add_argument(
        '--num-classes', type=int, default=4, help='number of cell classes')
    parser.add_argument(
        '--image-size', type=int, default=64, help='image side in pixels')
    parser.add_argument(
        '--modalities',
        type=int,
        default=1,
        help='renderings per cell (4: fluorescent, bf_red, bf_green, '
        'bf_blue)')
    parser.add_argument(
        '--multi-label',
        action='store_true',
        help='also write the binary cell attributes as label columns')
    parser.add_argument(
        '--num-per-class',
        type=int,
        nargs=3,
        default=(200, 50, 100),
        metavar=('TRAIN', 'VAL', 'TEST'),
        help='images per class in each split')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    return parser.parse_args()


def main():
    args = parse_args()
    meta = generate_synthetic_cells(
        args.out,
        num_classes=args.num_classes,
        num_per_class=tuple(args.num_per_class),
        image_size=args.image_size,
        multi_label=args.multi_label,
        num_modalities=args.modalities,
        seed=args.seed)
    counts = {
        split: sum(per_class.values())
        for split, per_class in meta['counts'].items()
    }
    print(f'{args.out}: classes {meta["classes"]}, '
          f'modalities {meta["modalities"]}, '
          f'attributes {meta["attributes"] or "none"}, images per split '
          f'{counts}')


if __name__ == '__main__':
    main()
