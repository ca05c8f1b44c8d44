"""
Age and gender from one network
===============================

The classic UTKFace projects train one CNN with two heads: age (regression) and
gender (classification) share the convolutional trunk, and the two losses are added
with weights. :class:`~sklearn_age.AgeGenderEstimator` is that network as a
scikit-learn estimator: ``Y`` holds the age and the gender of each face.
``$SKLEARN_AGE_EXAMPLE_FACES`` sets how many faces to use.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split

from sklearn_age import AgeGenderEstimator, ImageLoader, load_utkface
from sklearn_age.datasets import default_data_dir
from sklearn_age.metrics import error_by_group

n_faces = int(os.environ.get("SKLEARN_AGE_EXAMPLE_FACES", 2000))
faces = load_utkface(default_data_dir(), n_samples=n_faces, random_state=0)
gender = np.array(["male", "female"])[faces.gender]
images = ImageLoader(size=96).fit_transform(faces.paths)
X_train, X_test, Y_train, Y_test = train_test_split(
    images, np.column_stack([faces.age, gender]).astype(object), test_size=0.25,
    random_state=0,
)
age_test, gender_test = Y_test[:, 0].astype(float), Y_test[:, 1]

# %%
# A pretrained backbone and a small CNN from scratch, same split, same settings.
# Early stopping holds out a fifth of the training faces, so the history records
# the validation loss of each head.
models = {
    backbone: AgeGenderEstimator(
        backbone=backbone, img_size=96, max_epochs=6, early_stopping=True, patience=6,
        validation_fraction=0.2, random_state=0,
    ).fit(X_train, Y_train)
    for backbone in ("tf_efficientnet_lite0", "simple_cnn")
}
for backbone, model in models.items():
    predicted = model.predict(X_test)
    mae = np.mean(np.abs(predicted[:, 0].astype(float) - age_test))
    accuracy = np.mean(predicted[:, 1] == gender_test)
    print(f"{backbone:>22}: age MAE {mae:.2f} years, gender accuracy {accuracy:.3f}")

# %%
# Learning curves of both heads (validation losses of the pretrained model).
model = models["tf_efficientnet_lite0"]
history = model.history_
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, head, unit in zip(axes, ("age", "gender"), ("L1, standardized", "cross-entropy")):
    for subset in ("train", "valid"):
        ax.plot(history[:, "epoch"], history[:, f"{subset}_{head}_loss"], "o-", label=subset)
    ax.set(xlabel="epoch", ylabel=f"loss ({unit})", title=f"{head} head")
    ax.legend()
fig.tight_layout()

# %%
# Gender confusion matrix, and predicted against true age coloured by gender.
predicted = model.predict(X_test)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
ConfusionMatrixDisplay.from_predictions(gender_test, predicted[:, 1], normalize="true",
                                        ax=axes[0], colorbar=False)
axes[0].set_title("gender (rows: true)")
for label, colour in (("female", "tab:red"), ("male", "tab:blue")):
    mask = gender_test == label
    axes[1].scatter(age_test[mask], predicted[mask, 0].astype(float), s=8, alpha=0.6,
                    color=colour, label=label)
axes[1].plot([0, 100], [0, 100], "k--", lw=1)
axes[1].set(xlabel="true age", ylabel="predicted age", title="age, coloured by gender")
axes[1].legend()
fig.tight_layout()

# %%
# Is the age error the same for women and men?
report = error_by_group(age_test, predicted[:, 0].astype(float), gender_test)
for group, mae, count in zip(report.groups, report.mae, report.count):
    print(f"{group:>6}: MAE {mae:.2f} years (n={count})")
print(f"gap {report.gap:.2f} years; worst group {report.worst_group} "
      f"({report.worst_ratio:.2f} x the overall MAE)")
plt.show()
