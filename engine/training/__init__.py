"""Training and evaluation: the Keras model and its regularisers, batches, devices, callbacks,
resumable training, jobs, baselines, metrics and the results table. The only floor that imports Keras."""
