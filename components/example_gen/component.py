"""MovieLensExampleGen: a FileBasedExampleGen whose executor builds next-movie examples.

Being a FileBasedExampleGen keeps TFX's input fingerprinting (a re-run on unchanged files is
served from cache) and lets the Kubeflow V2 compiler treat it like any file-based ExampleGen.
"""

from __future__ import annotations

from google.protobuf import any_pb2
from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2

from components.example_gen import executor, timelines


def output_config() -> example_gen_pb2.Output:
    # The executor assigns splits from the timelines; the buckets only declare the names.
    splits = [
        example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=1) for name in timelines.SPLITS
    ]
    return example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=splits))


class MovieLensExampleGen(FileBasedExampleGen):
    """Reads any MovieLens layout under ``input_base`` and writes train/eval/test examples."""

    def __init__(self, input_base: str, settings: executor.IngestSettings):
        packed = any_pb2.Any()
        packed.Pack(settings.to_struct())
        super().__init__(
            input_base=input_base,
            output_config=output_config(),
            custom_config=example_gen_pb2.CustomConfig(custom_config=packed),
            custom_executor_spec=executor_spec.BeamExecutorSpec(executor.Executor),
        )
