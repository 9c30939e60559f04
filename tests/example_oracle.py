"""The definition of one example, written plainly: the oracle for the fast column encoder.

``timelines.timeline_examples`` builds the same examples as numpy columns encoded in C++;
tests check that both agree at every position.
"""

from __future__ import annotations

import tensorflow as tf

from components.data_formats.movielens import Movie, User
from components.example_gen.timelines import Timeline
from configs import features as raw


def make_example(
    timeline: Timeline,
    position: int,
    movies: dict[int, Movie],
    user: User | None,
    max_context_length: int,
    held_out: bool = False,
) -> tf.train.Example:
    """The example predicting ``timeline.ratings[position]`` from the ratings before it.

    Sequence features hold the most recent ``max_context_length`` context movies, oldest
    first, unpadded; Transform pads them to the lengths in the input config. A held-out
    (eval or test) example also lists every earlier movie of the user.
    """
    label = timeline.ratings[position]
    context = timeline.ratings[max(0, position - max_context_length) : position]
    context_movies = [movies[r.movie_id] for r in context]
    example = tf.train.Example()
    feature = example.features.feature
    feature[raw.USER_ID].int64_list.value.append(timeline.user_id)
    feature[raw.CONTEXT_MOVIE_ID].int64_list.value.extend([r.movie_id for r in context])
    feature[raw.CONTEXT_MOVIE_RATING].float_list.value.extend([r.rating for r in context])
    feature[raw.CONTEXT_MOVIE_YEAR].int64_list.value.extend([m.year for m in context_movies])
    feature[raw.CONTEXT_MOVIE_GENRE].bytes_list.value.extend(
        [g.encode() for m in context_movies for g in m.genres]
    )
    feature[raw.LABEL_MOVIE_ID].int64_list.value.append(label.movie_id)
    feature[raw.LABEL_TIMESTAMP].int64_list.value.append(label.timestamp)
    feature[raw.HISTORY_LENGTH].int64_list.value.append(position)
    feature[raw.HISTORY_BUCKET].bytes_list.value.append(raw.history_bucket(position).encode())
    history = timeline.ratings[:position] if held_out else []
    feature[raw.HISTORY_MOVIE_IDS].int64_list.value.extend([r.movie_id for r in history])
    if user is not None:
        feature[raw.USER_GENDER].bytes_list.value.append(user.gender.encode())
        feature[raw.USER_AGE].int64_list.value.append(user.age)
        feature[raw.USER_OCCUPATION].bytes_list.value.append(user.occupation.encode())
        feature[raw.USER_ZIP_PREFIX].bytes_list.value.append(user.zip_prefix.encode())
    return example
