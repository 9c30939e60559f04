"""The one value that masks a score out of the model's maxima and softmaxes."""

from __future__ import annotations

# Added to what must never win a max or a softmax (padding, seen movies, the OOV row).
NEG_INF = -1e9
