"""Which photos should get the colour? Per-photo vibrance gains against one gain for all, read
on the test split at equal colour (experiments/quality, table 22).

One checkpoint's raw predictions (EMA weights, flip averaging) on the validation and test
splits. Each rule groups photos into bins, calibrates one gain per bin on the validation
photos so that their mean colour reaches a goal at the least PSNR (as in
colorgan/models/class_gain.py: the greedy path of the argmax rule for hard bins, the posterior
rule for the head's probabilities), and applies it to the test photos:

- one gain: every photo the same (what colorgan ships);
- prediction's colour: quartiles of the ungained prediction's colorfulness (known at inference);
- colour head: a logistic regression on netG's bottleneck features (mean and max pooled),
  fitted on the training photos to their colorfulness quartile, frozen netG; its class
  probabilities feed the posterior rule (known at inference);
- oracles, which use the truth a photo to colorize does not have: quartiles of the photo's
  true colorfulness; quartiles of its PSNR at gain 1 (its own error); each photo its own gain
  (the upper bound of any per-photo rule, calibrated on the test photos themselves).

    python experiments/quality/photo_gain.py logs/quality/scenes-best19/train --target 0.95 \\
        --at 0.9 1.0 --at-colour 30.01 32.25

The run folder needs config.yaml and checkpoints/last.ckpt of a Lab train.py run on a dataset
with a test split (e.g. data=folder data.test_fraction=0.1, or data=cifar10). Inference only.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torchmetrics.functional.image import peak_signal_noise_ratio

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from class_gain import curve, one_gain_rows, per_class, row  # noqa: E402
from tta import decode, load, measure, predict, reading_args  # noqa: E402

from colorgan.data.base import uint8_to_float  # noqa: E402
from colorgan.metrics import colorfulness  # noqa: E402
from colorgan.models.class_gain import (  # noqa: E402
    WIDE_GAINS,
    class_gains,
    posterior_gains,
    posterior_table,
)
from colorgan.models.guidance import bottleneck_module  # noqa: E402

K = 4  # bins per rule: quartiles


def quartiles(values: torch.Tensor, edges_from: torch.Tensor, k: int = K) -> torch.Tensor:
    """Bin index (N,) of each value among the k quantile bins of ``edges_from``."""
    edges = torch.quantile(edges_from.double(), torch.linspace(0, 1, k + 1)[1:-1].double())
    return torch.bucketize(values.double(), edges)


@torch.no_grad()
def features(model, net, images: list[torch.Tensor]) -> torch.Tensor:
    """netG's bottleneck, mean and max pooled (N, 2C), for RGB batches in [0, 1]."""
    module, _ = bottleneck_module(net)
    kept = {}
    hook = module.register_forward_hook(lambda _m, _i, out: kept.__setitem__("x", out))
    try:
        out = []
        for rgb in images:
            net(model.prepare_batch({"rgb": rgb})[2])
            f = kept["x"].float()  # (B, C, h, w)
            out.append(torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1))
    finally:
        hook.remove()
    return torch.cat(out)


def training_photos(dm, passes: int = 2) -> list[torch.Tensor]:
    """The training photos as training sees them (the datamodule's crops and flips at the
    training size), ``passes`` times."""
    return [dm.training_view(uint8_to_float(batch["rgb"]))
            for _ in range(passes) for batch in dm.train_dataloader()]


def colour_head(train_x: torch.Tensor, train_bins: torch.Tensor, k: int, decay: float = 0.1):
    """A logistic regression (standardised features, L2 ``decay``) -> probs(x) (N, k)."""
    mu, sd = train_x.mean(0), train_x.std(0) + 1e-6
    z = (train_x - mu) / sd
    w = torch.zeros(z.shape[1], k, requires_grad=True)
    b = torch.zeros(k, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=300)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(z @ w + b, train_bins) + decay * (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return lambda x: torch.softmax(((x - mu) / sd) @ w.detach() + b.detach(), 1).double()


def spread(gains: torch.Tensor) -> str:
    return (f"{float(gains.min()):.1f}-{float(gains.max()):.1f}, median "
            f"{float(gains.median()):.1f}")


def ungained(model, split) -> tuple[torch.Tensor, torch.Tensor]:
    """Each photo's colorfulness and PSNR (N,) each, with its ungained prediction."""
    raw, real_A, real = split[:3]
    rgb = decode(model, raw, real_A, 1.0)  # (N, 3, H, W)
    return colorfulness(rgb), peak_signal_noise_ratio(rgb, real, data_range=1.0,
                                                      reduction="none", dim=(1, 2, 3))


def main(argv: list[str] | None = None) -> int:
    ap = reading_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    dm, model = load(args.run, args.max_test)
    shifts = int(model.hparams.get("tta_shifts") or 0)
    val = predict(dm, model, dm.val_dataloader(), shifts)[:3]
    test = predict(dm, model, dm.test_dataloader(), shifts)[:3]
    truth_val, truth = (float(colorfulness(s[2]).mean()) for s in (val, test))
    goals = [(f"{a}x", a * truth) for a in args.at] + [(f"{c:.2f}", c) for c in args.at_colour]
    target, scale = (args.target, args.target * truth_val), truth_val / truth

    # what each rule bins by, on validation and test
    own, err = zip(*(ungained(model, s) for s in (val, test)))  # colour, PSNR at gain 1
    true = [colorfulness(s[2]) for s in (val, test)]
    photos = training_photos(dm)  # the colour head's bins: the training photos' quartiles
    net, train_colour = model.eval_generator(), torch.cat([colorfulness(p) for p in photos])
    probs_of = colour_head(features(model, net, photos), quartiles(train_colour, train_colour), K)
    head = [probs_of(features(model, net, [s[2][i:i + 64] for i in range(0, len(s[2]), 64)]))
            for s in (val, test)]
    head_bins = [quartiles(t, train_colour) for t in true]  # (N,) each
    acc = [float((p.argmax(1) == t).double().mean()) for p, t in zip(head, head_bins)]
    print(f"# {args.run}: {len(test[0])} test and {len(val[0])} validation photos, flip + "
          f"{shifts} shifts; colour head accuracy {acc[0]:.3f} (validation), {acc[1]:.3f} "
          f"(test), chance {1 / K:.2f}; gains calibrated on validation\n")
    print("| rule | read at | PSNR (dB) | SSIM | colorfulness | CIEDE2000 | vs gray (dB) | gains |")
    print("|---|---|---|---|---|---|---|---|")

    one_gain_rows(model, val, test, args.target, goals)

    def binned(val_bins, test_bins, calib=val, goal_scale=1.0):
        """Hard bins (the argmax rule's greedy path, continuous in the goal): each test
        photo gets its bin's gain."""
        sums = curve(model, calib, val_bins, int(val_bins.max()) + 1).compute()[:3]

        def rule(goal: float) -> tuple[torch.Tensor, str]:
            gains = torch.tensor(class_gains(WIDE_GAINS, *sums, goal * goal_scale, 1.0)[0])
            return gains[test_bins], spread(gains[test_bins])
        return rule

    def posterior(val_bins, val_probs, test_probs):
        """Soft bins: the posterior rule on the head's probabilities (N, K)."""
        c = curve(model, val, val_bins, val_probs.shape[1], probs=val_probs)
        sums, per_image = c.compute()[:3], c.per_image()

        def rule(goal: float) -> tuple[torch.Tensor, str]:
            gains = posterior_gains(posterior_table(*sums, *per_image, goal)[0], test_probs)
            return gains, spread(gains)
        return rule

    own_bins = [quartiles(o, own[0]) for o in own]
    true_bins = [quartiles(t, true[0]) for t in true]
    err_bins = [quartiles(e, err[0]) for e in err]
    rules = [
        ("prediction's colour (quartiles)", binned(*own_bins)),
        ("colour head (bottleneck, posterior)", posterior(head_bins[0], head[0], head[1])),
        ("oracle: true colour (quartiles)", binned(*true_bins)),
        ("oracle: PSNR at gain 1 (quartiles)", binned(*err_bins)),
        # each test photo its own bin, calibrated on the test photos at the test goal
        ("oracle: each photo its own gain",
         binned(torch.arange(len(test[0])), torch.arange(len(test[0])), calib=test,
                goal_scale=1.0 / scale)),
    ]
    for name, rule in rules:
        per_class(model, row, name, rule, test, target, scale, goals)
    print(f"\nground truth colorfulness: test {truth:.2f}, validation {truth_val:.2f}; gray PSNR "
          f"{measure(model, *test, 0.0)['gray_psnr']:.3f} dB (test)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
