"""Train a colorization model: ``python train.py model=unet_gan data=places365``."""
from colorgan.train import main

if __name__ == "__main__":
    main()
