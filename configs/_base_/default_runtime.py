# Runtime shared by every medkd config.
default_scope = 'medkd'
runner_type = 'MedKDRunner'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # No best checkpoint by default (the papers report the final epoch); a
    # config that selects one names a validation metric, e.g.
    # save_best='medical/auc_mean', rule='greater'.
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

# To log to TensorBoard or MLflow too, add
# dict(type='TensorboardVisBackend') / dict(type='MLflowVisBackend').
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

# The console shows the metrics that matter (accuracy, weighted F1, AUC,
# sensitivity / specificity, ECE); vis_data/*.json keeps every value.
# console_metrics=None prints them all.
log_processor = dict(type='MedKDLogProcessor', by_epoch=True)

# Temperature scaling (Guo et al. 2017), fitted on the val split when the
# final (and a best) checkpoint is saved and stored in its meta: tools/test.py,
# --out dumps, inference, Grad-CAM and ONNX export give calibrated scores,
# and the metrics report ECE / Brier before and after. Accuracy and AUC do not
# change. `calibration = None` keeps the raw scores.
calibration = dict(type='TemperatureScaling')
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
