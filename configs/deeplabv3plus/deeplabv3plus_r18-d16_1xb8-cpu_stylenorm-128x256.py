# DeepLabv3+ sized for the embedded default on CPU: ResNetV1c-18 at half width, output stride 16
# (dilation only in the last stage), a narrow ASPP head; 128x256 crops of 512x256 scenes.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/stylenorm_two_domain.py',
    '../_base_/schedules/schedule_iter.py',
    '../_base_/default_runtime.py',
]
crop_size = (128, 256)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(depth=18, stem_channels=32, base_channels=32, dilations=(1, 1, 1, 2), strides=(1, 2, 2, 1)),
    decode_head=dict(in_channels=256, channels=64, dilations=(1, 6, 12, 18), c1_in_channels=32, c1_channels=16),
    auxiliary_head=dict(in_channels=128, channels=32))
