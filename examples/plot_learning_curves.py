"""
Learning curves from the training history
=========================================

Every fitted estimator keeps skorch's history in ``history_``: the training and
validation loss of each epoch, its duration and more. With ``early_stopping=True`` a
share of the training faces is held out, and the weights of the best epoch are
restored at the end. ``$SKLEARN_AGE_EXAMPLE_FACES`` sets how many faces to use.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from sklearn_age import AgeRegressor, ImageLoader, load_utkface
from sklearn_age.datasets import default_data_dir

n_faces = int(os.environ.get("SKLEARN_AGE_EXAMPLE_FACES", 2000))
faces = load_utkface(default_data_dir(), n_samples=n_faces, random_state=0)
images = ImageLoader(size=96).fit_transform(faces.paths)

# %%
# Fit with a held-out fifth and early stopping.
model = AgeRegressor(img_size=96, max_epochs=8, early_stopping=True, patience=3,
                     validation_fraction=0.2, random_state=0)
model.fit(images, faces.age)
history = model.history_
print(f"trained {model.n_epochs_} epochs; best validation loss at epoch "
      f"{int(np.argmin(history[:, 'valid_loss'])) + 1}")

# %%
# Losses are in units of the training ages' standard deviation: times ``y_scale_``
# they are in years (the absolute error of the expected age, plus the divergence of
# the predicted distribution over the years from the label distribution).
epochs = history[:, "epoch"]
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(epochs, np.array(history[:, "train_loss"]) * model.y_scale_, "o-",
        label="training (augmented)")
ax.plot(epochs, np.array(history[:, "valid_loss"]) * model.y_scale_, "o-",
        label="validation")
ax.set(xlabel="epoch", ylabel="loss (years)", title="Learning curves")
ax.legend()
plt.show()
