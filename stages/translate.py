"""Stage ``translate``: every sampled GTA5 image (train and test) into the Cityscapes style.

Reads   params ``base.device``, ``translate``; models/unit/model.pt; data/sampled/gta5/images.
Writes  data/translated/gta5/images/<id>.png (source size unless translate.upsample is none;
        labels are untouched: data/unified/gta5 still applies), metrics/translate.json.
Run     python -m stages.translate
"""
from __future__ import annotations

from stylenorm import paths
from stylenorm.cli import run_stage
from stylenorm.io import atomic_dir, remove_outputs, write_json
from stylenorm.sampling import read_manifest
from stylenorm.translators.train import load_generator, resolve_device
from stylenorm.translators.translate import translate_files


def translate(params) -> dict:
    cfg = params.translate
    device = resolve_device(params.base.device)
    netG, resolved = load_generator(paths.UNIT_MODEL, device)
    manifest = read_manifest(paths.sampled_dir(paths.SOURCE_DOMAIN))
    out_dir = paths.translated_dir()
    remove_outputs(out_dir, paths.TRANSLATE_REPORT)
    sources = [paths.sampled_dir(paths.SOURCE_DOMAIN) / paths.IMAGES / f"{i}.png" for i in manifest.id]
    with atomic_dir(out_dir) as tmp:
        (tmp / paths.IMAGES).mkdir()
        report = translate_files(netG, sources, [tmp / paths.IMAGES / f"{i}.png" for i in manifest.id],
                                 new_size=cfg.new_size, upsample=cfg.upsample, full_resolution=cfg.full_resolution,
                                 batch_size=cfg.batch_size, device=device,
                                 n_down=resolved["translator"]["gen"]["n_downsample"],
                                 precision=resolved["translator"]["precision"])
    report["device"] = str(device)
    write_json(paths.TRANSLATE_REPORT, report)
    return report


def main() -> None:
    run_stage(__doc__, translate)

if __name__ == "__main__":
    main()
