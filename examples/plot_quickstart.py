"""
Quick start: train an age regressor on face photos
==================================================

Train :class:`~sklearn_age.AgeRegressor` (EfficientNet-Lite0 with ImageNet weights that
ship with the package) on 80 % of a UTKFace-style folder, evaluate it on the other
20 %, and plot predicted against true ages.

The folder is ``$SKLEARN_AGE_DATA``, else ``../shared/data/utkface_part1``.
``$SKLEARN_AGE_EXAMPLE_FACES`` limits the number of faces (all by default).
"""

import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sklearn_age import AgeRegressor, load_utkface  # noqa: E402
from sklearn_age.datasets import default_data_dir  # noqa: E402
from sklearn_age.metrics import cumulative_score, mae_per_range  # noqa: E402
from sklearn_age.plotting import plot_predicted_vs_true  # noqa: E402

# %%
# Load the faces: labels come from the file names.
folder = default_data_dir()
n_faces = os.environ.get("SKLEARN_AGE_EXAMPLE_FACES")
try:
    faces = load_utkface(folder, n_samples=n_faces and int(n_faces), random_state=0)
except (FileNotFoundError, ValueError) as exc:
    sys.exit(f"No faces to train on: {exc}")
train_paths, test_paths, train_ages, test_ages = train_test_split(
    faces.paths, faces.age, test_size=0.2, random_state=0
)
print(f"{len(train_paths)} training and {len(test_paths)} held-out faces from {folder}")

# %%
# Fine-tune a short schedule (the defaults train longer for the best accuracy).
model = AgeRegressor(img_size=96, max_epochs=3, random_state=0, verbose=2)
model.fit(train_paths, train_ages)

# %%
# Evaluate on the held-out faces.
predicted = model.predict(test_paths)
mae = abs(predicted - test_ages).mean()
print(f"MAE:  {mae:.2f} years")
print(f"CS@5: {cumulative_score(test_ages, predicted, threshold=5):.1%}")
for label, (range_mae, count) in mae_per_range(test_ages, predicted).items():
    print(f"  MAE {label:>6} years: {range_mae:5.2f}  ({count} faces)")

# %%
# Predicted against true age.
ax = plot_predicted_vs_true(test_ages, predicted)
os.makedirs("results", exist_ok=True)
ax.figure.savefig(os.path.join("results", "quickstart_predicted_vs_true.png"), dpi=120)
print("saved results/quickstart_predicted_vs_true.png")
plt.show()
