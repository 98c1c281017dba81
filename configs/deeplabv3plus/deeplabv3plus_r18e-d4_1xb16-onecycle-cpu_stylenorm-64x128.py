# Benchmark candidate (benchmarks/bench_seg_candidates.py, issue 18): the one-cycle CPU DeepLabv3+ with its
# ResNetV1c-18 at an eighth of the width (8 stem / base channels: 8..64 by stage) and output stride 4 (no
# stride after the stem, stages 2-4 dilated 2, 4, 8), so that every stage sees the scene at a quarter of
# its side, as scripts/domain_gap.py's five-layer FCN does; the ASPP and decoder narrowed to match.
_base_ = ['./deeplabv3plus_r18-d8_1xb16-onecycle-cpu_stylenorm-64x128.py']
model = dict(
    backbone=dict(stem_channels=8, base_channels=8, strides=(1, 1, 1, 1), dilations=(1, 2, 4, 8)),
    decode_head=dict(in_channels=64, channels=32, c1_in_channels=8, c1_channels=8),
    auxiliary_head=dict(in_channels=32, channels=16))
