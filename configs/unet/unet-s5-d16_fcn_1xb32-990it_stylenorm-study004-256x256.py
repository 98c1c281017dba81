# The second study's (study004) segmenter: "a 24-layer U-Net with 31,047,586 trainable
# parameters" trained on 256x256 crops of 280x560 images, batch 32, 15 epochs, L2 0.01 on the
# first and last four convolutions.
#
# Size: MMSeg's UNet-S5-D16 with 2x2 stride-2 transposed convolutions (+BN+ReLU) for upsampling
# and a bare 1x1 classifier (no head conv, no auxiliary head) has 31,040,723 parameters at 19
# classes. The study's count is met exactly by the same network with a bias on every 3x3 conv
# (18 convs, 5,888 biases; MMSeg drops them before BN, whose shift makes them redundant) and 34
# output classes (Cityscapes' label ids, 15 x 65 = 975 more); tests/test_unet.py checks both.
_base_ = [
    '../_base_/models/fcn_unet_s5-d16.py',
    '../_base_/datasets/stylenorm_two_domain_study004-256x256.py',
    '../_base_/schedules/schedule_iter.py',
    '../_base_/default_runtime.py',
]
crop_size = (256, 256)
data_preprocessor = {{_base_.study004_data_preprocessor}}  # [-1, 1] inputs, test padding to 16
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(upsample_cfg=dict(type='DeconvModule', kernel_size=2)),
    decode_head=dict(num_convs=0),  # in_channels == channels == 64: conv_seg alone
    auxiliary_head=None)

# 15 epochs of the study's 2082 training images at batch 32: ceil(2082 / 32) = 66 updates an
# epoch, 990 in all (976 if counted in images seen: 15 * 2082 / 32 = 975.9). params.yaml sets it.
max_iters = 990
train_cfg = dict(max_iters=max_iters)
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)]

# L2 regularisation 0.01 on the first four and the last four 3x3 convolutions: the encoder's two
# full- and half-resolution stages and the decoder's two (decoder.0 is the last one run), kernel
# weights only (these convs have no bias), nothing elsewhere. A penalty 0.01 * sum(w^2) in the
# loss has gradient 0.02 * w, which is weight_decay=0.02 in PyTorch's (coupled) SGD and Adam.
# MMEngine tries the longest matching key first, so 'backbone' and 'decode_head' only catch the rest.
l2_conv = dict(decay_mult=1.0)
optim_wrapper = dict(
    optimizer=dict(weight_decay=0.02),
    paramwise_cfg=dict(custom_keys={
        'backbone.encoder.0.0.convs.0.conv': l2_conv,
        'backbone.encoder.0.0.convs.1.conv': l2_conv,
        'backbone.encoder.1.1.convs.0.conv': l2_conv,
        'backbone.encoder.1.1.convs.1.conv': l2_conv,
        'backbone.decoder.1.conv_block.convs.0.conv': l2_conv,
        'backbone.decoder.1.conv_block.convs.1.conv': l2_conv,
        'backbone.decoder.0.conv_block.convs.0.conv': l2_conv,
        'backbone.decoder.0.conv_block.convs.1.conv': l2_conv,
        'backbone': dict(decay_mult=0.0),
        'decode_head': dict(decay_mult=0.0),
    }))
