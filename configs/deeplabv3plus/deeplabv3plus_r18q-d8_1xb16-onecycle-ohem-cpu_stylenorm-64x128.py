# The default quarter-width CPU DeepLabv3+ (..._r18q-d8_1xb16-onecycle-cpu_...) with online hard example
# mining in the decode head's loss (MMSeg's OHEMPixelSampler, as its *_ohem Cityscapes configs): pixels
# whose true-class probability is above `thresh` are dropped from the loss, keeping at least `min_kept`
# per batch (MMSeg's Cityscapes configs keep 100k of a batch's 1M pixels; a 16 x 64x128 batch has 131k).
_base_ = ['./deeplabv3plus_r18q-d8_1xb16-onecycle-cpu_stylenorm-64x128.py']
model = dict(decode_head=dict(sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=13000)))
