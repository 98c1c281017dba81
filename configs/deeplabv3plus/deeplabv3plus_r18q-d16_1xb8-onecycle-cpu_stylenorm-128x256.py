# Benchmark candidate (benchmarks/bench_seg_candidates.py, issue 18): the quarter-width one-cycle CPU
# DeepLabv3+ (..._r18q-d8_...) at output stride 16 (MMSeg's r*-d16: stride-2 third stage, only the last
# stage dilated) on whole scenes at twice the side (256x128 for the embedded default): its stride-16
# stages see as many positions as the stride-8 ones do at 128x64, while the stem, the first two stages
# and the decoder's stride-4 branch see four times the pixels (thin classes: poles, lights, bicycles). The
# whole-scene pipeline is the base's: build_config writes seg.img_scale into its ratio-1 RandomResize.
_base_ = ['./deeplabv3plus_r18q-d8_1xb16-onecycle-cpu_stylenorm-64x128.py']
crop_size = (128, 256)  # (h, w)
img_scale = (256, 128)  # (w, h)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(dilations=(1, 1, 1, 2), strides=(1, 2, 2, 1)))
