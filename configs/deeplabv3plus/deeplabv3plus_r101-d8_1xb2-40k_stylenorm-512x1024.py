# The study's model: DeepLabv3+ on a dilated ResNetV1c-101 (output stride 8), MMSeg's Cityscapes
# recipe (512x1024 crops of 2048x1024, SGD 0.01, poly, 40k iterations, batch 2 per GPU).
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/stylenorm_two_domain.py',
    '../_base_/schedules/schedule_iter.py',
    '../_base_/default_runtime.py',
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor, backbone=dict(depth=101))
