# A narrow U-Net for the embedded default on CPU: four stages of 16..128 channels, the first a
# stride-2 conv stage (so the whole U works at half resolution; the FCN head's logits are upsampled
# bilinearly to the crop) and max-pool between stages (output stride 16 at the bottleneck),
# bilinear-plus-1x1 upsampling, one FCN head; 128x256 crops of 512x256 scenes
# (stylenorm_two_domain.py). Its train step at batch 8, when written, took 0.55x the time of the
# DeepLabv3+ r18-d16 CPU config's on 2 shared cores; at full resolution (stride-1 first stage) 2x as
# long, with MMSeg's auxiliary head another 1.3x (not re-measured since).
_base_ = [
    '../_base_/models/fcn_unet_s5-d16.py',
    '../_base_/datasets/stylenorm_two_domain.py',
    '../_base_/schedules/schedule_iter.py',
    '../_base_/default_runtime.py',
]
crop_size = (128, 256)
# Test images padded to a multiple of 16: the stride-2 first stage and three max-pools.
data_preprocessor = dict(size=crop_size, test_cfg=dict(size_divisor=16))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        base_channels=16,
        num_stages=4,
        strides=(2, 1, 1, 1),
        enc_num_convs=(2, 2, 2, 2),
        dec_num_convs=(2, 2, 2),
        downsamples=(True, True, True),
        enc_dilations=(1, 1, 1, 1),
        dec_dilations=(1, 1, 1)),
    decode_head=dict(in_channels=16, in_index=3, channels=16),  # the last decoder stage
    auxiliary_head=None)
