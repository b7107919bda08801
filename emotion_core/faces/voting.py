"""One set of faces from several looks at the same image (scales, mirror images), by vote.

Each look ("pass") gives candidate faces with scores. Candidates of all passes that overlap the
best remaining one by ``same_face_iou`` or more are one face; its score is the mean over the
passes of each pass's best score for it (a pass that missed it gives 0), and its box and
landmarks are those of its best candidate. A face one pass alone finds weakly (a hand, a pattern
on a shirt) so scores low, while a small or turned face that every pass finds moderately keeps a
good score: on WIDER FACE group photos this keeps more faces for fewer false ones than any one
pass at any threshold (BENCHMARKS.md, "Detection on real photos").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emotion_core.core.geometry import iou_matrix

# A candidate row: x1, y1, x2, y2, score, then the five landmarks as x, y pairs.
ROW_WIDTH = 15


def vote(
    passes: Sequence[np.ndarray],
    same_face_iou: float,
    min_score: float,
    min_score_small: float,
    small_face_px: float,
) -> np.ndarray:
    """The faces (rows as the candidates', (N, 15)) that ``passes`` (each (M_i, 15)) agree on,
    best first: a face whose box is under ``small_face_px`` high needs ``min_score_small``, the
    others ``min_score``."""
    rows = [np.asarray(p, dtype=np.float32).reshape(-1, ROW_WIDTH) for p in passes]
    candidates = np.concatenate(rows) if rows else np.zeros((0, ROW_WIDTH), np.float32)
    if not len(candidates):
        return candidates
    source = np.concatenate([np.full(len(r), i) for i, r in enumerate(rows)])
    overlap = iou_matrix(candidates[:, :4], candidates[:, :4])
    taken = np.zeros(len(candidates), dtype=bool)
    kept = []
    for best in np.argsort(-candidates[:, 4], kind="stable"):
        if taken[best]:
            continue
        group = np.flatnonzero(~taken & (overlap[best] >= same_face_iou))
        taken[group] = True
        per_pass = np.zeros(len(rows), dtype=np.float32)
        np.maximum.at(per_pass, source[group], candidates[group, 4])
        face = candidates[best].copy()
        face[4] = per_pass.mean()
        height = face[3] - face[1]
        if face[4] >= (min_score_small if height < small_face_px else min_score):
            kept.append(face)
    return np.array(kept, dtype=np.float32).reshape(-1, ROW_WIDTH)
