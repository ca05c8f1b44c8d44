"""
Error per gender and ethnicity
==============================

An age model can be more accurate for some people than for others. UTKFace file names
carry gender and ethnicity, so the error per group takes a few lines. Report the gap
with the model, and measure it again on your own data. ``$SKLEARN_AGE_EXAMPLE_FACES``
sets how many faces to use.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from sklearn_age import AgeRegressor, ImageLoader, load_utkface
from sklearn_age.datasets import default_data_dir

n_faces = int(os.environ.get("SKLEARN_AGE_EXAMPLE_FACES", 2000))
faces = load_utkface(default_data_dir(), n_samples=n_faces, random_state=0)
images = ImageLoader(size=96).fit_transform(faces.paths)
train, test = train_test_split(np.arange(len(faces.age)), test_size=0.25, random_state=0)
ages, gender, race = faces.age, faces.gender, faces.race

model = AgeRegressor(img_size=96, max_epochs=4, random_state=0)
predicted = model.fit(images[train], ages[train]).predict(images[test])
errors = np.abs(predicted - ages[test])
print(f"overall MAE: {errors.mean():.2f} years")

# %%
# MAE and count per group.
groupings = {
    "gender": (gender[test], {0: "male", 1: "female"}),
    "ethnicity": (race[test], {0: "White", 1: "Black", 2: "Asian", 3: "Indian", 4: "Others"}),
}
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, (title, (groups, names)) in zip(axes, groupings.items()):
    labels, maes = [], []
    for value, name in names.items():
        mask = groups == value
        if mask.any():
            labels.append(f"{name}\n(n={mask.sum()})")
            maes.append(errors[mask].mean())
            print(f"{title:>9} {name:>7}: MAE {maes[-1]:.2f} years over {mask.sum()} faces")
    ax.bar(labels, maes)
    ax.axhline(errors.mean(), color="black", lw=1, ls="--", label="overall")
    ax.set(ylabel="MAE (years)", title=f"Error per {title}")
    ax.legend()
fig.tight_layout()
plt.show()
