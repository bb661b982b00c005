# The rows of experiments/quality: name and overrides on top of experiment=scenes64_pix2pix.
# Sourced by run.sh; every row has the same data, network sizes and training budget.
# Flip averaging (model.tta_flip) changes inference only: run.sh evaluates the checkpoints of
# FLIP_ROWS again with tta_flip=true (rows <name>_flip) instead of training them twice.
ROWS=(
  "mse|model.adversarial=false model.rec_loss=mse model.lambda_rec=1"
  "l1|model.adversarial=false model.rec_loss=l1 model.lambda_rec=1"
  "pix2pix|"
  "cls|model.adversarial=false model.lambda_rec=0 model.classification.enabled=true"
  "cls_norebal|model.adversarial=false model.lambda_rec=0 model.classification.enabled=true model.classification.rebalance=null"
  "cls_gan|model.lambda_rec=0 model.classification.enabled=true"
  "cls_reb08|model.adversarial=false model.lambda_rec=0 model.classification.enabled=true model.classification.rebalance=0.8"
  "cls_reb09|model.adversarial=false model.lambda_rec=0 model.classification.enabled=true model.classification.rebalance=0.9"
  "cls_reb09_ema|model.adversarial=false model.lambda_rec=0 model.classification.enabled=true model.classification.rebalance=0.9 model.ema.enabled=true"
  "cls_reb08_ema|model.adversarial=false model.lambda_rec=0 model.classification.enabled=true model.classification.rebalance=0.8 model.ema.enabled=true"
  "nogan|model.pretrain_epochs=15"
  "ema|model.ema.enabled=true"
  "guidance|data.class_labels=true model.class_guidance.enabled=true"
  "r1_sn|model.r1_gamma=1.0 model.spectral_norm=true model.netD.norm=none"
  "hinge|model.gan_mode=hinge"
  "pix2pix_wide|data.aspect_crops.p=0.5"
  # trained after data.skip_gray (no black-and-white photos) became the default:
  "pix2pix_color|"
  "r1_sn_cos|model.r1_gamma=1.0 model.spectral_norm=true model.netD.norm=none model.scheduler_G={_target_:torch.optim.lr_scheduler.CosineAnnealingLR,_partial_:true,T_max:30} model.scheduler_D={_target_:torch.optim.lr_scheduler.CosineAnnealingLR,_partial_:true,T_max:30}"
  "r1_sn_crop|model.r1_gamma=1.0 model.spectral_norm=true model.netD.norm=none data.augment.crop_scale=[0.4,1.0]"
  "pix2pix_crop|data.augment.crop_scale=[0.4,1.0]"
  "l1_crop|model.adversarial=false model.rec_loss=l1 model.lambda_rec=1 data.augment.crop_scale=[0.4,1.0]"
  "l1_ema|model.adversarial=false model.rec_loss=l1 model.lambda_rec=1 model.ema.enabled=true"
  "l1_ema_crop|model.adversarial=false model.rec_loss=l1 model.lambda_rec=1 model.ema.enabled=true data.augment.crop_scale=[0.4,1.0]"
)
