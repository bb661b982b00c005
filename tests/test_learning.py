"""A short real-learning check: a few hundred steps on synthetic scenes must learn colour."""
from colorgan.train import train
from tests.conftest import TINY, make_cfg

LEARN = TINY + ["data.num_train=800", "data.batch_size=8", "data.num_val=64",
                "model.netG.ngf=8", "model/netD=pixel", "trainer.max_epochs=2",
                "trainer.log_every_n_steps=50"]


def test_few_hundred_steps_improve_val_psnr(tmp_path):
    untrained, _ = train(make_cfg(tmp_path / "before", LEARN + ["train=false"]))
    trained, obj = train(make_cfg(tmp_path / "after", LEARN))
    assert obj["trainer"].global_step == 400  # 2 epochs x 100 batches x (D + G step)
    assert trained["val/psnr"] > untrained["val/psnr"] + 1.0
    # and it has learned colour: better than "no colour at all", and not gray
    assert trained["val/psnr"] > trained["val/gray_psnr"]
    assert trained["val/colorfulness"] > 10
