"""
Optuna search with per-epoch pruning
====================================

:func:`sklearn_age.search.run_study` runs an Optuna study whose every trial is a 5-fold
cross-validation of an estimator; during the first fold it reports the held-out score
after each epoch, so that the median pruner stops unpromising trials early. With
``storage="study.db"`` the study is kept in a SQLite file and resumes where it left
off.

Trials here train the head on frozen embeddings (computed once with
:class:`~sklearn_age.FaceEmbedder`); the same call fine-tunes whole networks when
given ``AgeRegressor()`` and image paths. ``$SKLEARN_AGE_EXAMPLE_FACES`` sets how many
faces to use (400 by default).
"""

import os

import matplotlib.pyplot as plt
import optuna

from sklearn_age import AgeRegressor, FaceEmbedder, load_utkface
from sklearn_age.datasets import default_data_dir
from sklearn_age.search import run_study

optuna.logging.set_verbosity(optuna.logging.WARNING)

# %%
# Embed a random subset of the faces once; the embedder learns nothing from them.
n_faces = int(os.environ.get("SKLEARN_AGE_EXAMPLE_FACES", 400))
faces = load_utkface(default_data_dir(), n_samples=n_faces, random_state=0)
embeddings = FaceEmbedder(img_size=112).fit_transform(faces.paths)
ages = faces.age

# %%
# Twenty trials over ``lr``, ``weight_decay``, ``dropout`` and ``l1_lambda``.
head = AgeRegressor(backbone=None, max_epochs=20, batch_size=128, random_state=0)
study = run_study(head, embeddings, ages, n_trials=20, cv=5, random_state=0,
                  show_progress_bar=False)
states = [trial.state.name for trial in study.trials]
print(f"finished: {states.count('COMPLETE')}, pruned: {states.count('PRUNED')}")
print(f"best 5-fold MAE: {-study.best_value:.2f} years with {study.best_params}")

# %%
# Each trial's held-out MAE per epoch (first fold): pruned trials stop early.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
for trial in study.trials:
    steps = sorted(trial.intermediate_values)
    values = [-trial.intermediate_values[s] for s in steps]
    ax1.plot(steps, values, color="tab:red" if trial.state.name == "PRUNED" else "tab:blue",
             alpha=0.6)
ax1.set(xlabel="epoch", ylabel="held-out MAE (years)", title="Learning curves (red: pruned)")
complete = [t for t in study.trials if t.state.name == "COMPLETE"]
ax2.scatter([t.params["lr"] for t in complete], [-t.value for t in complete])
ax2.set(xscale="log", xlabel="lr", ylabel="5-fold MAE (years)", title="MAE against lr")
fig.tight_layout()
plt.show()
