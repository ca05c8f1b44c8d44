"""
Five-fold grid search over lr, weight decay, dropout and L1 (the fast path)
===========================================================================

A 5-fold :class:`~sklearn.model_selection.GridSearchCV` over two values each of the four
regularization hyperparameters: 16 candidates, 80 fits. Fine-tuning the whole CNN for
each would take hours on a laptop, so this search uses the fast path: a frozen
:class:`~sklearn_age.FaceEmbedder` turns faces into embeddings once (cached by the
pipeline's ``memory``), and only the head, ``AgeRegressor(backbone=None)``, is
trained per candidate. Use the fast path to explore; fine-tune for the final model.

``$SKLEARN_AGE_EXAMPLE_FACES`` sets how many faces to use (400 by default).
"""

import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from sklearn_age import AgeRegressor, FaceEmbedder, ImageLoader, load_utkface
from sklearn_age.datasets import default_data_dir
from sklearn_age.metrics import make_age_scorers

# %%
# A random subset of the faces, the same each run.
n_faces = int(os.environ.get("SKLEARN_AGE_EXAMPLE_FACES", 400))
faces = load_utkface(default_data_dir(), n_samples=n_faces, random_state=0)
paths, ages = faces.paths, faces.age

# %%
# The pipeline and the grid. ``refit="mae"`` refits the candidate with the lowest MAE;
# all four age scorers are reported.
cache = tempfile.mkdtemp()
pipe = Pipeline(
    [("load", ImageLoader(size=112)),
     ("embed", FaceEmbedder(img_size=112, memory=cache)),
     ("head", AgeRegressor(backbone=None, max_epochs=30, batch_size=128, random_state=0))],
    memory=cache,
)
grid = {
    "head__lr": [1e-3, 3e-3],
    "head__weight_decay": [0.0, 1e-4],
    "head__dropout": [0.0, 0.3],
    "head__l1_lambda": [0.0, 1e-5],
}
# The faces are sorted by file name, hence by age: shuffle the folds.
folds = KFold(n_splits=5, shuffle=True, random_state=0)
search = GridSearchCV(pipe, grid, cv=folds, scoring=make_age_scorers(), refit="mae")
search.fit(paths, ages)

# %%
# The results table, best first.
results = search.cv_results_
order = np.argsort(results["rank_test_mae"])
print(f"{'lr':>7} {'wd':>7} {'dropout':>7} {'l1':>7} | {'MAE':>6} {'CS@5':>6} {'recall':>6}")
for i in order:
    p = results["params"][i]
    print(f"{p['head__lr']:7.0e} {p['head__weight_decay']:7.0e} {p['head__dropout']:7.1f} "
          f"{p['head__l1_lambda']:7.0e} | {-results['mean_test_mae'][i]:6.2f} "
          f"{results['mean_test_cs'][i]:6.3f} {results['mean_test_range_recall'][i]:6.3f}")
print("best:", search.best_params_)

# %%
# Cross-validated MAE of every candidate, with its spread over the folds.
labels = [
    f"lr={p['head__lr']:.0e} wd={p['head__weight_decay']:.0e}\n"
    f"drop={p['head__dropout']} l1={p['head__l1_lambda']:.0e}"
    for p in results["params"]
]
fig, ax = plt.subplots(figsize=(8, 6))
ax.barh(np.arange(16), -results["mean_test_mae"][order], xerr=results["std_test_mae"][order])
ax.set_yticks(np.arange(16), [labels[i] for i in order], fontsize=7)
ax.invert_yaxis()
ax.set_xlabel("5-fold MAE (years)")
ax.set_title("Grid search over the four hyperparameters")
fig.tight_layout()
plt.show()
