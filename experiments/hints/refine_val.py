import sys, json
sys.path.insert(0, "experiments/hints")
from pathlib import Path
from run import eval_in_process
ck = {"s42": "/work/runs/hints_s42/checkpoints/epoch_048-select_24.01.ckpt",
      "s1": "/work/runs/hints_s1/checkpoints/epoch_047-select_24.17.ckpt"}
split = sys.argv[1]
for seed, path in ck.items():
    for n in (2, 10):
        for refine in ("none", "levin"):
            ov = ["data=folder", "data.root=../shared/data/images/scenes", "data.image_size=64",
                  "data.val_fraction=0.2", "data.test_fraction=0.1", "data.num_workers=0",
                  "trainer.enable_progress_bar=false", f"ckpt_path={path}", f"split={split}",
                  f"hints.points={n}", f"hints.refine={refine}", "hints.baselines=false"]
            out = Path(f"/work/runs/refine/{split}/{seed}/p{n}_{refine}")
            pl = eval_in_process(ov, out)
            m = pl["model"]
            print(split, seed, n, refine, {k: round(v, 3) for k, v in m.items() if k in ("psnr", "ssim", "ciede2000")}, flush=True)
