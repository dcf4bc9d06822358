"""Representativeness: do the training inputs look like the inputs met in use (the production
sample, or the test split standing in for it)?

- ``domain_classifier``: a logistic regression on TF-IDF features learns to tell a training
  input from a production input; its cross-validated ROC AUC says how different they are
  (0.5: indistinguishable; 1.0: every input can be told apart). With a language model, the same
  on its embeddings. The terms that weigh most for each side say what differs.
- ``coverage``: the share of production inputs whose most similar training example (TF-IDF
  cosine over the words and word pairs in at most 20% of rows) is far, "far" meaning less similar than 95% of training examples are to their own
  nearest other training example; so a representative sample has about 5% far inputs. The far
  inputs are grouped (k-means) into the kinds of input the training set lacks, each with its
  terms and a few examples.
"""
from __future__ import annotations

import numpy as np

from tunewise.audit import features
from tunewise.audit.inputs import Split
from tunewise.audit.report import Evidence, Finding, excerpt

#: rows per side the domain classifier uses at most (a sample beyond that)
MAX_ROWS = 10000
#: training rows whose distance to their own nearest neighbour calibrates "far"
CALIBRATION_ROWS = 2000
#: the share of training rows that count as far from the rest (the threshold's quantile)
FAR_QUANTILE = 0.05


def _sample(n: int, k: int, rng) -> np.ndarray:
    return np.arange(n) if n <= k else np.sort(rng.choice(n, k, replace=False))


def _auc_severity(auc: float) -> str:
    return "ok" if auc < 0.65 else "info" if auc < 0.75 else "warning" if auc < 0.9 else "error"


def domain_auc(x, y: np.ndarray, seed: int, folds: int = 5) -> float:
    """Cross-validated ROC AUC of a logistic regression telling y=1 rows from y=0 rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    folds = int(min(folds, np.bincount(y).min()))
    clf = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced", solver="liblinear")
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = cross_val_predict(clf, x, y, cv=cv, method="decision_function")
    return float(roc_auc_score(y, scores))


def _top_terms(vec, x, y, k: int = 8) -> tuple[list[str], list[str]]:
    """(terms that most say "production", terms that most say "training")."""
    from sklearn.linear_model import LogisticRegression
    clf = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced", solver="liblinear")
    clf.fit(x, y)
    names = vec.get_feature_names_out()
    w = clf.coef_[0]
    order = np.argsort(w)
    return [str(names[i]) for i in order[::-1][:k]], [str(names[i]) for i in order[:k]]


def check_domain(train: Split, prod: Split, *, seed: int = 0, emb=None) -> Finding:
    """The domain-classifier finding (``emb``: (train, production) embeddings, or None)."""
    rng = np.random.default_rng(seed)
    a, b = _sample(len(train), MAX_ROWS, rng), _sample(len(prod), MAX_ROWS, rng)
    texts = [train.texts[i] for i in a] + [prod.texts[i] for i in b]
    y = np.r_[np.zeros(len(a), int), np.ones(len(b), int)]
    vec = features.tfidf(texts, min_df=2 if len(texts) > 50 else 1)
    x = vec.transform(texts)
    auc = domain_auc(x, y, seed)
    prod_terms, train_terms = _top_terms(vec, x, y)
    metrics = {"auc_tfidf": round(auc, 4), "rows_train": len(a), "rows_production": len(b),
               "production_terms": prod_terms, "training_terms": train_terms}
    worst = auc
    if emb is not None:
        ea, eb = emb
        ia, ib = _sample(len(ea), 2000, rng), _sample(len(eb), 2000, rng)
        auc_e = domain_auc(np.vstack([ea[ia], eb[ib]]),
                           np.r_[np.zeros(len(ia), int), np.ones(len(ib), int)], seed)
        metrics["auc_embeddings"] = round(auc_e, 4)
        worst = max(auc, auc_e)
    sev = _auc_severity(worst)
    what = prod.role if prod.role == "production" else "test (standing in for production)"
    summary = (f"a classifier tells training inputs from {what} inputs with cross-validated "
               f"AUC {auc:.2f} on TF-IDF features"
               + (f" and {metrics['auc_embeddings']:.2f} on the model's embeddings"
                  if "auc_embeddings" in metrics else "")
               + " (0.5 = indistinguishable, 1.0 = different domains)")
    if sev != "ok":
        summary += f"; {prod.role} inputs stand out by: {', '.join(prod_terms[:6])}"
    fix = "" if sev == "ok" else (
        f"add training examples like the {prod.role} inputs (see the uncovered kinds below), or "
        f"evaluate on a sample of real {prod.role} inputs rather than a split of the training file")
    return Finding("representativeness", "domain_classifier", sev, summary, fix, metrics)


def check_coverage(train: Split, prod: Split, *, seed: int = 0,
                   advance=None) -> list[Finding]:
    """The coverage finding and, when enough inputs are far, the uncovered kinds."""
    rng = np.random.default_rng(seed)
    # terms in more than 20% of rows are left out: they say little about a topic and make the
    # sparse products dense (the threshold is calibrated on the same features)
    big = len(train) + len(prod) >= 1000
    vec = features.tfidf(train.texts + prod.texts, min_df=2 if big else 1,
                         max_df=0.2 if big else 1.0)
    x_train, x_prod = vec.transform(train.texts), vec.transform(prod.texts)
    cal = _sample(len(train), CALIBRATION_ROWS, rng)
    _, cal_sim = features.nearest(x_train[cal], x_train, self_index=cal)
    threshold = float(np.quantile(cal_sim, FAR_QUANTILE))
    best, sim = features.nearest(x_prod, x_train, advance=advance)
    far = np.flatnonzero(sim < threshold)
    share = len(far) / max(len(prod), 1)
    sev = "ok" if share <= 0.1 else "info" if share <= 0.25 else "warning" if share <= 0.5 \
        else "error"
    order = far[np.argsort(sim[far])]
    evidence = [Evidence(prod.wheres[j], excerpt(prod.texts[j]),
                         {"similarity": round(float(sim[j]), 3),
                          "nearest_train": train.wheres[best[j]] if best[j] >= 0 else None})
                for j in order[:10]]
    summary = (f"{100 * share:.1f}% of {prod.role} inputs ({len(far):,} of {len(prod):,}) are far "
               f"from every training example (expected about {100 * FAR_QUANTILE:.0f}% for a "
               "representative sample)")
    metrics = {"far_share": round(share, 4), "far": int(len(far)), "threshold": round(threshold, 4),
               "expected_share": FAR_QUANTILE,
               "threshold_rule": (f"TF-IDF cosine to the most similar training example below "
                                  f"{threshold:.3f}: the similarity that {100 * (1 - FAR_QUANTILE):.0f}% "
                                  "of training examples exceed to their own nearest other "
                                  "training example"),
               "median_similarity": round(float(np.median(sim)), 4) if len(sim) else None}
    fix = "" if sev == "ok" else (f"collect training examples like the far {prod.role} inputs "
                                  "listed (the kinds below group them)")
    out = [Finding("representativeness", "coverage", sev, summary, fix, metrics, evidence,
                   evidence_total=int(len(far)))]
    if len(far) >= 10 and sev != "ok":
        out.append(_uncovered(prod, x_prod, far, vec, seed))
    return out


def _uncovered(prod: Split, x_prod, far: np.ndarray, vec, seed: int) -> Finding:
    """The far inputs in a few k-means clusters: each cluster's terms and examples."""
    from sklearn.cluster import KMeans
    rng = np.random.default_rng(seed)
    rows = far if len(far) <= 3000 else np.sort(rng.choice(far, 3000, replace=False))
    k = int(np.clip(len(rows) // 15, 1, 6))
    x = x_prod[rows]
    km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(x)
    names = vec.get_feature_names_out()
    kinds, evidence = [], []
    for c in np.argsort(-np.bincount(km.labels_, minlength=k)):
        members = rows[km.labels_ == c]
        if not len(members):
            continue
        terms = [str(names[i]) for i in np.argsort(-km.cluster_centers_[c])[:5]]
        share = len(members) / len(rows)
        kinds.append({"terms": terms, "share_of_far": round(share, 3), "rows": int(len(members))})
        dist = np.asarray(x[km.labels_ == c] @ km.cluster_centers_[c]).ravel()
        for j in members[np.argsort(-dist)[:3]]:
            evidence.append(Evidence(prod.wheres[j], excerpt(prod.texts[j]),
                                     {"kind": len(kinds), "terms": terms}))
    summary = ("the training set lacks these kinds of input: "
               + "; ".join(f"[{i + 1}] {', '.join(kd['terms'][:4])} ({100 * kd['share_of_far']:.0f}%"
                           " of the far inputs)" for i, kd in enumerate(kinds)))
    return Finding("representativeness", "uncovered_inputs", "info", summary,
                   "collect and label examples of each kind", {"kinds": kinds}, evidence)
