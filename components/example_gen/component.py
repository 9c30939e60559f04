"""MovieLensExampleGen: a FileBasedExampleGen whose executor builds next-movie examples.

Being a FileBasedExampleGen keeps TFX's input fingerprinting (a re-run on unchanged files is
served from cache) and lets the Kubeflow V2 compiler treat it like any file-based ExampleGen.
"""

from __future__ import annotations

from google.protobuf import any_pb2
from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.orchestration import data_types
from tfx.proto import example_gen_pb2, range_config_pb2

from components.data_formats import spans
from components.example_gen import executor, timelines
from components.example_gen.settings import IngestSettings


def output_config() -> example_gen_pb2.Output:
    # The executor assigns splits from the timelines; the buckets only declare the names.
    splits = [
        example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=1) for name in timelines.SPLITS
    ]
    return example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=splits))


def input_config(settings: IngestSettings) -> example_gen_pb2.Input | None:
    """For span data, one input split whose pattern has TFX's ``{SPAN}`` spec: the driver
    resolves the span (the latest, or the RangeConfig's), fingerprints that span's folder
    and records the span on the Examples. None: TFX's default (every file)."""
    if not settings.spans:
        return None
    split = example_gen_pb2.Input.Split(name="single_split", pattern=spans.SPAN_PATTERN)
    return example_gen_pb2.Input(splits=[split])


def span_range(span: int | None) -> range_config_pb2.RangeConfig:
    """The RangeConfig of one span (``None``: the latest, TFX's rolling range of one)."""
    if span is None:
        return range_config_pb2.RangeConfig(
            rolling_range=range_config_pb2.RollingRange(num_spans=1)
        )
    return range_config_pb2.RangeConfig(
        static_range=range_config_pb2.StaticRange(start_span_number=span, end_span_number=span)
    )


class MovieLensExampleGen(FileBasedExampleGen):
    """Reads any MovieLens layout under ``input_base`` and writes train/eval/test examples.

    With span data (``settings.spans``), ``input_base`` holds span folders and
    ``range_config`` says which span a run holds out (default: the latest).
    """

    def __init__(
        self,
        input_base: str | data_types.RuntimeParameter,
        settings: IngestSettings,
        range_config: range_config_pb2.RangeConfig | data_types.RuntimeParameter | None = None,
    ):
        if range_config is not None and not settings.spans:
            raise ValueError("a span range needs span data (the span split)")
        packed = any_pb2.Any()
        packed.Pack(settings.to_struct())
        super().__init__(
            input_base=input_base,
            input_config=input_config(settings),
            range_config=range_config,
            output_config=output_config(),
            custom_config=example_gen_pb2.CustomConfig(custom_config=packed),
            custom_executor_spec=executor_spec.BeamExecutorSpec(executor.Executor),
        )
