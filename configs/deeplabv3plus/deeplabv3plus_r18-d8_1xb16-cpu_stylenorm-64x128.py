# Benchmark candidate (benchmarks/bench_seg_candidates.py, issue 18): the CPU DeepLabv3+ (ResNetV1c-18 at
# half width) at output stride 8 instead of 16 (dilated last two stages, as MMSeg's r*-d8 configs), for
# half-resolution input: 64x128 crops of scenes resized to 128x64 (seg.img_scale), so the ASPP sees an
# 8x16 map, the size the default's stride 16 gives at 128x256. Not the default.
_base_ = ['./deeplabv3plus_r18-d16_1xb8-cpu_stylenorm-128x256.py']
crop_size = (64, 128)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1)))
