"""Names of what a pushed model offers an app: its files, signatures, inputs and outputs
(light: imported by the TensorFlow-free CLI)."""

from components.contracts.sidecar import Sidecar

MODEL_FILE = "model.tflite"
QUANTIZED_FILE = "model_int8_weights.tflite"
# The sidecar's name, for what serves or copies a pushed folder's files (the demo); its
# content is read and written through components.contracts.sidecar.
SIDECAR_FILE = Sidecar.FILE

# The on-device signatures.
RECOMMEND, RECOMMEND_UNSEEN = "recommend", "recommend_unseen"
ON_DEVICE_SIGNATURES = (RECOMMEND, RECOMMEND_UNSEEN)
TOP_IDS = "top_prediction_ids"
TOP_SCORES = "top_prediction_scores"
# The input of ``recommend_unseen`` listing every movie the user watched (raw ids).
EXCLUDED_MOVIES = "excluded_movie_ids"

# The SavedModel-only signature that scores every movie (quality report).
SCORE_ALL_MOVIES = "score_all_movies"
SCORES, MOVIE_IDS = "scores", "movie_ids"
