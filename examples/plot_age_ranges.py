"""
Age ranges: a classifier, its confusion matrix and recall per range
===================================================================

:class:`~sklearn_age.AgeClassifier` predicts life stages (0-5, 6-18, 19-30, 31-45,
46-65, 66+) from ages it bins itself. The confusion matrix shows which ranges are
confused with which, and recall per range shows where an imbalanced dataset leaves
the model weakest. ``$SKLEARN_AGE_EXAMPLE_FACES`` sets how many faces to use.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split

from sklearn_age import AgeClassifier, ImageLoader, load_utkface
from sklearn_age.datasets import default_data_dir
from sklearn_age.metrics import range_confusion_matrix, range_f1_score, range_recall_score

# %%
# Faces, decoded once at 96 pixels.
n_faces = int(os.environ.get("SKLEARN_AGE_EXAMPLE_FACES", 2000))
faces = load_utkface(default_data_dir(), n_samples=n_faces, random_state=0)
images = ImageLoader(size=96).fit_transform(faces.paths)
X_train, X_test, age_train, age_test = train_test_split(
    images, faces.age, test_size=0.25, random_state=0
)

# %%
# Train on ages; the classifier bins them into life stages.
clf = AgeClassifier(ranges="life_stages", img_size=96, max_epochs=4,
                    class_weight="balanced", random_state=0)
clf.fit(X_train, age_train)
predicted = clf.predict(X_test)
print("classes:", clf.classes_.tolist())
print(f"macro recall over ranges: {range_recall_score(age_test, predicted):.3f}")
print(f"macro F1 over ranges:     {range_f1_score(age_test, predicted):.3f}")

# %%
# Confusion matrix (rows: true range) and recall per range.
matrix, labels = range_confusion_matrix(age_test, predicted, normalize="true")
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
ConfusionMatrixDisplay(matrix, display_labels=labels).plot(ax=ax1, values_format=".2f",
                                                           colorbar=False)
ax1.set_title("Confusion matrix (share of each true range)")
ax2.bar(labels, np.diag(matrix))
ax2.set(ylim=(0, 1), xlabel="true age range", ylabel="recall", title="Recall per range")
fig.tight_layout()
plt.show()
