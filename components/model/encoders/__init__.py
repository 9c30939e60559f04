"""Context encoders, one module per family: each turns a left-padded activity sequence into
one vector (``registry.make_encoder`` builds the one an input config names).

Every encoder takes ``embeddings`` of shape ``[batch, length, dim]`` and a boolean ``mask``
of shape ``[batch, length]`` (True at real activities; padding sits on the left, the most
recent activity is last) and returns ``[batch, units]``. Padding never changes the output:
the same history padded to any length encodes to the same vector.

Every encoder is causal: called with ``all_positions=True`` it returns ``[batch, length,
units]`` whose position t depends only on the activities up to t, which is what training on
whole sequences with a loss at every position needs (components.model.sequence_training).
BOW, CNN, LSTM and HSTU encode position t exactly as a window ending at t; the
Transformer's learned positions count back from the newest input, so only its last position
is a window (SASRec's positions behave the same way).

To add an encoder: a module here with its Keras layer, an ``EncoderType`` value in
configs/input_config.proto, and one builder in ``registry``.
"""
