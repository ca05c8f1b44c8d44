"""
A small CNN from scratch against a pretrained backbone
======================================================

The classic course project trains a small CNN from scratch; here it is, as
``backbone="simple_cnn"``, against the default EfficientNet-Lite0 fine-tuned from
ImageNet weights, on the same split and the same number of epochs.
``$SKLEARN_AGE_EXAMPLE_FACES`` sets how many faces to use.
"""

import os
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from sklearn_age import AgeRegressor, ImageLoader, load_utkface
from sklearn_age.datasets import default_data_dir
from sklearn_age.plotting import plot_predicted_vs_true

n_faces = int(os.environ.get("SKLEARN_AGE_EXAMPLE_FACES", 2000))
faces = load_utkface(default_data_dir(), n_samples=n_faces, random_state=0)
images = ImageLoader(size=96).fit_transform(faces.paths)
X_train, X_test, age_train, age_test = train_test_split(
    images, faces.age, test_size=0.25, random_state=0
)

# %%
# The same settings for both; only the backbone differs.
fig, axes = plt.subplots(1, 2, figsize=(10, 5))
for ax, backbone in zip(axes, ["simple_cnn", "tf_efficientnet_lite0"]):
    start = time.perf_counter()
    model = AgeRegressor(backbone=backbone, img_size=96, max_epochs=4, random_state=0)
    predicted = model.fit(X_train, age_train).predict(X_test)
    mae = np.abs(predicted - age_test).mean()
    print(f"{backbone:>22}: MAE {mae:.2f} years, {time.perf_counter() - start:.0f} s")
    plot_predicted_vs_true(age_test, predicted, ax=ax, title=f"{backbone}: MAE {mae:.2f}")
fig.tight_layout()
plt.show()
