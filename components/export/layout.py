"""File names of a pushed model folder (light: imported by the TensorFlow-free CLI)."""

MODEL_FILE = "model.tflite"
QUANTIZED_FILE = "model_int8_weights.tflite"
SIDECAR_FILE = "model.json"
