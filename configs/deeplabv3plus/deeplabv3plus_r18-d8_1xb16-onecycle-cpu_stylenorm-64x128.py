# A CPU segmenter for the embedded default (the default, ..._r18q-..., is this at quarter width):
# DeepLabv3+ on a ResNetV1c-18 at half width (32 stem / base channels) with output stride 8 (dilated
# last two stages, as MMSeg's r*-d8 configs), trained from scratch with AdamW and a one-cycle
# learning rate on whole scenes resized to seg.img_scale (128x64 for the embedded default), flipped
# at random; no rescale, crop or photometric distortion. The resize is a RandomResize of ratio 1 so
# that build_config writes seg.img_scale into it; seg.crop_size ([h, w]) must hold the resized scene.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/stylenorm_two_domain.py',
    '../_base_/schedules/schedule_onecycle_adamw.py',
    '../_base_/default_runtime.py',
]
crop_size = (64, 128)  # (h, w)
img_scale = (128, 64)  # (w, h)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(depth=18, stem_channels=32, base_channels=32),
    decode_head=dict(in_channels=256, channels=64, dilations=(1, 6, 12, 18), c1_in_channels=32, c1_channels=16),
    auxiliary_head=dict(in_channels=128, channels=32))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=img_scale, ratio_range=(1.0, 1.0), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
