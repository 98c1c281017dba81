# The second study's (study004) preprocessing on this project's two-domain data: every image
# resized to exactly 280x560 (h x w, aspect ratio not kept), random 256x256 crops, horizontal flips
# with p = 0.5, no photometric distortion, inputs scaled to [-1, 1]; batch 32 for 15 epochs
# (the schedule: configs/unet/*study004*). Same dataset type and `sources` structure as
# stylenorm_two_domain.py; stages/train_seg.py fills the sources in.
#
# The 280x560 resizes are fixed geometry, marked by `keep_ratio=False`: params' `seg.img_scale`
# is what keep-ratio resizes are relative to and does not apply to them (build_config leaves a
# `Resize` with keep_ratio=False alone). `seg.crop_size` does apply to the RandomCrop (256x256).
dataset_type = 'StyleNormDataset'
crop_size = (256, 256)  # (h, w)
img_scale = (560, 280)  # (w, h): the exact size every image is resized to, in training and test
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),  # labels: nearest neighbour
    dict(type='RandomCrop', crop_size=crop_size),  # uniform position, no class-ratio rejection
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadAnnotations'),  # after Resize: scored against the full-size ground truth
    dict(type='PackSegInputs'),
]
# The model's data preprocessor for this pipeline (mean and std belong to the model in MMSeg, so
# primitives take it with `model = dict(data_preprocessor={{_base_.study004_data_preprocessor}})`):
# x -> (x - 127.5) / 127.5 puts RGB in [-1, 1]; training batches are padded to the crop (no-op for
# full crops), test images to a multiple of 16, the U-Net's downsampling (280x560 -> 288x560).
study004_data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size,
    test_cfg=dict(size_divisor=16))
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DrawSampler'),  # endless, seeded draws (stylenorm.segmentation); build_config sets the seed
    dataset=dict(
        type=dataset_type,
        sources=[
            dict(domain='cityscapes', split='train', images='data/sampled/cityscapes/images'),
            dict(domain='gta5', split='train', images='data/sampled/gta5/images'),
        ],
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        sources=[dict(domain='cityscapes', split='test', images='data/sampled/cityscapes/images')],
        pipeline=test_pipeline,
        test_mode=True))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
