# The default segmenter (params.yaml seg; the validation-best candidate within the CPU budget of
# benchmarks/bench_seg_candidates.py, results/seg_candidates.md): the one-cycle CPU DeepLabv3+ below
# with its ResNetV1c-18 at quarter width (16 stem / base channels: 16..128 channels by stage) and the
# heads' inputs to match; 0.56x the training step of the half-width network there.
_base_ = ['./deeplabv3plus_r18-d8_1xb16-onecycle-cpu_stylenorm-64x128.py']
model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    decode_head=dict(in_channels=128, c1_in_channels=16),
    auxiliary_head=dict(in_channels=64))
