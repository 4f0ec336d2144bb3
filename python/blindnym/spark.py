"""Pseudonymise one column of a Spark DataFrame through the blindnym evaluator service, on
the cluster a data holder already runs: `mapInArrow`, so each task blinds its partition in
Arrow batches, calls the evaluators, verifies every proof and finalizes, with no Python object
per row.

    out = blindnym.spark.pseudonymise(df, "id", "tax statistics", ["https://eval:8443"],
                                      key="data-holder.key", anchor=anchor, realm="example realm")
    with blindnym.spark.reasons():
        out.write.parquet("pseudonymised.parquet")

The output is deterministic (a pseudonym depends only on the identifier, the domain and the
key), so a task Spark retries or re-runs after losing an executor writes exactly the rows it
would have: nothing is lost or repeated by Spark's commit protocol. A batch evaluated twice
spends its quota twice. An evaluator's refusal fails the job; wrap the action in `reasons()`
to get it as `EvaluatorRefused` (or the library error) with the evaluator's reason instead of
a JVM stack trace.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Iterator, Sequence, Union

import pyarrow as pa

from . import _blindnym
from ._blindnym import RequestKey
from .client import (EvaluatorRefused, Evaluators, EvaluatorUnreachable, invalid, parse_anchor,
                     read_key_file)

#: The marker a failed task's message carries, found again on the driver by `reasons()`.
_MARKER = re.compile(r"\[blindnym:(?P<kind>[A-Za-z]+):(?P<code>[A-Za-z0-9]+)\] (?P<message>[^\n]*)")

_CLIENTS: dict = {}


def _client(config: tuple, fresh: bool = False) -> Evaluators:
    """One client per Python worker and configuration (the key set and record are checked
    once per worker, not per task; `fresh` checks them again)."""
    client = None if fresh else _CLIENTS.get(config)
    if client is None:
        urls, key_text, anchor, realm, domain, retries = config
        client = Evaluators(list(urls), RequestKey(key_text), anchor, realm, domain,
                            retries=retries)
        _CLIENTS[config] = client
    return client


def pseudonymise(
    df,
    column: str,
    domain: Union[str, bytes],
    evaluators: Sequence[str],
    *,
    key: Union[str, "os.PathLike[str]"],
    anchor: Union[str, bytes],
    realm: Union[str, bytes],
    batch_size: int = 1024,
    nulls: str = "keep",
    retries: int = 12,
):
    """`df` with `column` (string or binary identifiers) replaced by its pseudonyms (text
    form, string) for `domain`, through one evaluator or every evaluator of a threshold set.
    `key` is the path of the data holder's request key file (read once, on the driver).

    Lazy, like every DataFrame transformation: the work and any failure happen at the action.
    `nulls="keep"` (default) keeps a null where the identifier is null; `nulls="error"` fails
    the job with `InvalidInput` (`NullIdentity`). An over-long identifier fails it with
    `InvalidInput` (`InputTooLong`); a domain the caller is not granted with
    `EvaluatorRefused` (`Unauthorized`).
    """
    from pyspark.sql.types import StringType, StructField, StructType

    if column not in df.columns:
        raise invalid("InvalidInput", f"no column {column!r} in {df.columns}")
    if nulls not in ("keep", "error"):
        raise invalid("InvalidInput", f"nulls is 'keep' or 'error', not {nulls!r}")
    schema = StructType(
        [
            StructField(f.name, StringType(), True) if f.name == column else f
            for f in df.schema.fields
        ]
    )
    # Checked here, on the driver: a bad anchor fails before any task runs.
    # The key file is read on the driver; each task signs its own requests with the key.
    config = (tuple(evaluators), read_key_file(key).strip(), parse_anchor(anchor), realm, domain,
              retries)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        try:
            client = _client(config)
            for batch in batches:
                index = batch.schema.get_field_index(column)
                try:
                    texts = client.pseudonymise(batch.column(index), batch_size=batch_size,
                                                nulls=nulls)
                except _blindnym.KeySetError:
                    # A worker outlives jobs: after a key rotation, check the set again once.
                    client = _client(config, fresh=True)
                    texts = client.pseudonymise(batch.column(index), batch_size=batch_size,
                                                nulls=nulls)
                # Spark may expect large strings back (arrow.useLargeVarTypes).
                field = batch.schema.field(index)
                kind = pa.large_string() if pa.types.is_large_string(field.type) or \
                    pa.types.is_large_binary(field.type) else pa.string()
                yield batch.set_column(index, pa.field(column, kind, True), texts.cast(kind))
        except EvaluatorRefused as refusal:
            raise RuntimeError(f"[blindnym:EvaluatorRefused:{refusal.code}] {refusal.message}") from None
        except EvaluatorUnreachable as error:
            raise RuntimeError(f"[blindnym:EvaluatorUnreachable:Unreachable] {error}") from None
        except _blindnym.BlindnymError as error:
            code = getattr(error, "code", "BlindnymError")
            message = str(error).split(": ", 1)[-1]
            raise RuntimeError(f"[blindnym:{type(error).__name__}:{code}] {message}") from None

    return df.mapInArrow(run, schema)


_KINDS = {
    "EvaluatorRefused": EvaluatorRefused,
    "EvaluatorUnreachable": EvaluatorUnreachable,
    "InvalidInput": _blindnym.InvalidInput,
    "VerificationFailed": _blindnym.VerificationFailed,
    "KeySetError": _blindnym.KeySetError,
    "ThresholdError": _blindnym.ThresholdError,
    "BlindnymError": _blindnym.BlindnymError,
}


def reason(error: BaseException):
    """The blindnym error behind a failed Spark action (found in the task failure Spark
    reports), or None if it was not blindnym's."""
    match = _MARKER.search(str(error))
    if match is None:
        return None
    kind, code, message = match["kind"], match["code"], match["message"]
    if kind == "EvaluatorRefused":
        return EvaluatorRefused(code, message)
    if kind == "EvaluatorUnreachable":
        return EvaluatorUnreachable(message)
    exception = _KINDS.get(kind, _blindnym.BlindnymError)(f"{code}: {message}")
    exception.code = code
    return exception


@contextlib.contextmanager
def reasons():
    """Runs a Spark action; a job blindnym failed is raised as that failure (its class,
    `code` and message), without the JVM's stack trace."""
    try:
        yield
    except Exception as error:  # Py4JJavaError, PythonException, SparkException, …
        found = reason(error)
        if found is None:
            raise
        raise found from None
