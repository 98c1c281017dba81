# Iteration-based AdamW with a one-cycle learning rate (Smith & Topin 2019): a cosine warm-up over the
# first quarter from lr/25 to lr, then a cosine decay to lr/25e3; trains small networks from scratch in
# a few hundred iterations (benchmarks/bench_seg_candidates.py). Loop and hooks as schedule_iter.py.
# params.yaml `seg` sets the peak learning rate (the optimizer's lr and eta_max) and the length: every
# scheduler that spans the whole run (end == train_cfg.max_iters) is stretched to seg.iterations.
_base_ = ['./schedule_iter.py']
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=0.01, betas=(0.9, 0.999), weight_decay=1e-4))
param_scheduler = [
    dict(type='OneCycleLR', eta_max=0.01, total_steps=40000, pct_start=0.25, anneal_strategy='cos',
         div_factor=25.0, final_div_factor=1e3, begin=0, end=40000, by_epoch=False)]
