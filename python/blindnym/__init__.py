"""blindnym: unlinkable pairwise pseudonyms through a blinded OPRF (RFC 9497).

The data holder's side of flow B on Arrow arrays (`DataHolder`), the signed key set and a
threshold set's verification shares, a client for the evaluator service (`Evaluators`, one
evaluator or a threshold set) and a PySpark job (`blindnym.spark.pseudonymise`). The
cryptography is the Rust library's; this package moves bytes and arrays.

    import pyarrow as pa, blindnym
    client = blindnym.Evaluators(["http://127.0.0.1:8080"], key="blindnym-dev/data-holder.key",
                                 anchor=open("blindnym-dev/anchor.hex").read(),
                                 realm="blindnym dev", domain="dev domain")
    client.pseudonymise(pa.array(["19800101-1234", "19911231-0000"]))
"""

from ._blindnym import (
    MAX_BATCH,
    BlindBatch,
    BlindnymError,
    DataHolder,
    EpochShares,
    InvalidInput,
    KeySet,
    KeySetError,
    RequestKey,
    ThresholdError,
    VerificationFailed,
    pseudonym_parse,
    pseudonym_text,
    verify_epoch_shares,
    verify_key_set,
)
from .client import EvaluatorRefused, Evaluators, EvaluatorUnreachable

__all__ = [
    "MAX_BATCH",
    "BlindBatch",
    "BlindnymError",
    "DataHolder",
    "EpochShares",
    "EvaluatorRefused",
    "EvaluatorUnreachable",
    "Evaluators",
    "InvalidInput",
    "KeySet",
    "KeySetError",
    "RequestKey",
    "ThresholdError",
    "VerificationFailed",
    "pseudonym_parse",
    "pseudonym_text",
    "verify_epoch_shares",
    "verify_key_set",
]
