"""A client for the blindnym evaluator service (server/openapi.yaml): one evaluator, or the
evaluators of a threshold set (spec/12-threshold.md §12.12). Every answer's proof is checked
by the Rust library before a pseudonym comes out. Standard library HTTP only."""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from typing import Optional, Sequence, Union

import pyarrow as pa
import pyarrow.compute as pc

from ._blindnym import (
    BlindnymError,
    DataHolder,
    InvalidInput,
    RequestKey,
    ThresholdError,
    verify_epoch_shares,
    verify_key_set,
)

#: Statuses worth retrying (and a threshold evaluator that cannot reach its peers). A 408
#: may come after the evaluator charged the batch: its retry is charged again.
RETRY_STATUSES = {408, 500, 502, 504}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would send a signed request to another host: refused."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


#: No redirects, no proxy from the environment: requests go to the URL given, and only there.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def invalid(code: str, message: str) -> InvalidInput:
    """An `InvalidInput` raised by the Python layer, with its `code`."""
    error = InvalidInput(f"{code}: {message}")
    error.code = code
    return error


class EvaluatorRefused(BlindnymError):
    """The evaluator refused; `code` is its reason (Unauthorized, QuotaExceeded, …)."""

    def __init__(self, code: str, message: str, evaluator: str = ""):
        super().__init__(f"the evaluator refused: {code}: {message}")
        self.code = code
        self.message = message
        self.evaluator = evaluator

    def __reduce__(self):
        return (EvaluatorRefused, (self.code, self.message, self.evaluator))


class EvaluatorUnreachable(BlindnymError):
    """Too few evaluators answered after every retry."""

    def __init__(self, message: str):
        super().__init__(message)
        self.code = "Unreachable"

    def __reduce__(self):
        return (EvaluatorUnreachable, (str(self),))


class _Retry(Exception):
    pass


def parse_anchor(anchor: Union[str, bytes]) -> bytes:
    """The key-set signer's public key from 64 hex digits or 32 bytes."""
    if isinstance(anchor, str):
        try:
            anchor = bytes.fromhex(anchor.strip())
        except ValueError:
            raise invalid("InvalidInput", "the anchor is 64 hex digits") from None
    if len(anchor) != 32:
        raise invalid("InvalidLength", "the anchor is 32 bytes")
    return bytes(anchor)


def read_key_file(path: Union[str, "os.PathLike[str]"]) -> str:
    """The text of a request key file, refusing one that group or others may read."""
    path = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
        if os.name == "posix" and mode & 0o077:
            raise invalid("InvalidInput", f"{path}: key file readable by group or others; chmod 600 it")
        with open(path, encoding="ascii") as file:
            return file.read()
    except OSError as error:
        raise invalid("InvalidInput", f"{path}: {error}") from None


def load_key(key: Union["RequestKey", str, "os.PathLike[str]"]) -> "RequestKey":
    """A request key: a `RequestKey`, or the path of a key file (mode 0600, 64 hex digits)."""
    if isinstance(key, RequestKey):
        return key
    return RequestKey(read_key_file(key))


def _exchange(url: str, key: Optional["RequestKey"], body: Optional[bytes], headers=None,
              timeout=60.0, realm: str = "") -> bytes:
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if key is not None and body is not None:
        # Signed for this evaluator alone (RFC 9421): no other evaluator accepts it.
        signed = key.sign(url, realm, body, (headers or {}).get("Blindnym-Tweak"))
        for name, value in signed.items():
            request.add_header(name, value)
    if body is not None:
        request.add_header("Content-Type", "application/octet-stream")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        payload = error.read()
        if error.code in RETRY_STATUSES:
            raise _Retry(f"{url}: HTTP {error.code}") from None
        try:
            refusal = json.loads(payload)
            code, message = refusal["error"], refusal["message"]
        except (ValueError, KeyError, TypeError):
            code, message = f"HTTP{error.code}", payload[:200].decode("utf-8", "replace")
        if code == "PeersUnavailable":
            raise _Retry(f"{url}: {message}") from None
        raise EvaluatorRefused(code, message, url) from None
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        raise _Retry(f"{url}: {error}") from None


class Evaluators:
    """The evaluator (one URL) or the threshold set (several URLs: every evaluator of the
    set, in index order, evaluator 1 first) a data holder pseudonymises through, for one
    domain. An answer under another evaluator's index than its URL's is dropped.

    `key` is the data holder's request key (a `RequestKey`, or the path of its key file):
    every request is signed with it for the one evaluator it goes to. `anchor` is the key-set
    signer's public key (32 bytes, or 64 hex digits); the signed key set, and for a threshold
    set the signed verification shares and the domain's tweak record, are checked against it
    on construction. `key_set_state` is a file that keeps the last accepted key set between
    runs: a later run refuses an older set, or one that re-keys an epoch it listed
    (`KeySetError`); `key_set_digest` is the accepted set's digest, to compare out of band.
    """

    def __init__(
        self,
        urls: Sequence[str],
        key: Union["RequestKey", str, "os.PathLike[str]"],
        anchor: Union[str, bytes],
        realm: Union[str, bytes],
        domain: Union[str, bytes],
        retries: int = 12,
        timeout: float = 60.0,
        key_set_state: Optional[Union[str, "os.PathLike[str]"]] = None,
    ):
        if not urls:
            raise invalid("InvalidInput", "give at least one evaluator URL")
        self.urls = [u.rstrip("/") for u in urls]
        self.key = load_key(key)
        self.retries = max(1, retries)
        self.timeout = timeout
        anchor = parse_anchor(anchor)
        realm = realm.encode() if isinstance(realm, str) else realm
        self.realm = realm.decode("utf-8", "replace")
        self.domain = domain.encode() if isinstance(domain, str) else domain
        signed = self._with_retries(lambda: self._first("/v1/key-set", None))
        last = None
        if key_set_state is not None and os.path.exists(key_set_state):
            with open(key_set_state, "rb") as kept:
                last = kept.read()
        self.key_set = verify_key_set(signed, anchor, realm, None, last)
        if key_set_state is not None:
            staged = os.fspath(key_set_state) + ".new"
            with open(staged, "wb") as out:
                out.write(signed)
            os.replace(staged, key_set_state)
        self.key_set_digest = self.key_set.digest
        self.holder = DataHolder(self.key_set, self.domain)
        self.shares = None
        self.record = None
        # A random first evaluator: a Spark job makes one client per partition, and each
        # partition's first batches then spread over the set (review M5).
        self._batches = int.from_bytes(os.urandom(2), "big")
        if len(self.urls) > 1:
            signed = self._with_retries(lambda: self._first("/v1/threshold/epoch-shares", None))
            self.shares = verify_epoch_shares(signed, self.key_set)
            if self.shares.n != len(self.urls):
                raise invalid("InvalidInput",
                              f"the threshold set has {self.shares.n} evaluators; give each URL")
            self._fetch_record(renew=False)

    # -- transport ---------------------------------------------------------------------------

    def _with_retries(self, once):
        delay, last = 0.1, ""
        for attempt in range(self.retries):
            try:
                return once()
            except _Retry as retry:
                last = str(retry)
            if attempt + 1 < self.retries:
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise EvaluatorUnreachable(f"the evaluator is unreachable after {self.retries} attempts: {last}")

    def _first(self, path: str, body: Optional[bytes]) -> bytes:
        last: Exception = _Retry("no evaluator")
        for url in self.urls:
            try:
                return _exchange(url + path, self.key if body is not None else None, body,
                                 timeout=self.timeout, realm=self.realm)
            except _Retry as retry:
                last = retry
        raise last

    def _fetch_record(self, renew: bool) -> None:
        path = "/v1/threshold/flow-b/tweak" + ("/renew" if renew else "")
        record = self._with_retries(lambda: self._first(path, self.domain))
        self.holder.check_record(self.shares, record)
        self.record = record
        self.digest = hashlib.sha256(record).hexdigest()

    # -- pseudonymising ----------------------------------------------------------------------

    def pseudonymise(self, ids: pa.Array, batch_size: int = 1024, nulls: str = "keep") -> pa.Array:
        """Pseudonyms (text form, pyarrow string array) of an Arrow array of identifiers, in
        order, in batches of `batch_size` (one request and one proof each).

        `nulls="keep"` leaves a null where the identifier is null; `nulls="error"` raises
        `InvalidInput` (code `NullIdentity`). Raises `EvaluatorRefused` with the evaluator's
        reason, `EvaluatorUnreachable` after every retry, `VerificationFailed` for an answer
        whose proof fails.
        """
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()
        if nulls not in ("keep", "error"):
            raise invalid("InvalidInput", f"nulls is 'keep' or 'error', not {nulls!r}")
        if not 1 <= batch_size <= 65535:
            raise invalid("InvalidInput", "batch_size is 1 to 65535")
        if ids.null_count and nulls == "keep":
            valid = pc.is_valid(ids)
            texts = self.pseudonymise(pc.filter(ids, valid), batch_size, nulls="error")
            return pc.replace_with_mask(pa.nulls(len(ids), pa.string()), valid, texts)
        chunks = [
            self._batch(ids.slice(start, batch_size))
            for start in range(0, len(ids), batch_size)
        ]
        if not chunks:
            return pa.array([], pa.string())
        return pa.concat_arrays(chunks)

    def _batch(self, ids: pa.Array) -> pa.Array:
        batch, request = self.holder.blind(ids)
        if self.shares is None:
            url = self.urls[0] + "/v1/flow-b/evaluate"
            response = self._with_retries(lambda: _exchange(url, self.key, request, timeout=self.timeout,
                                                            realm=self.realm))
            return self.holder.finalize(batch, response)
        return self._threshold_batch(batch, request)

    def _threshold_batch(self, batch, request: bytes) -> pa.Array:
        t = self.shares.t
        delay, last = 0.1, ""
        for attempt in range(self.retries):
            responses, conflicts, refused, retryable = [], 0, None, False
            too_few = None
            # Each batch starts one evaluator further on, so every evaluator answers about
            # t/n of the batches (per-evaluator quotas sized Q*t/n still give Q; review M5).
            self._batches += 1
            start = self._batches % len(self.urls)
            order = [(start + step) % len(self.urls) for step in range(len(self.urls))]
            for position, url in ((p + 1, self.urls[p]) for p in order):
                try:
                    response = _exchange(
                        url + "/v1/threshold/flow-b/evaluate", self.key, request,
                        headers={"Blindnym-Tweak": self.digest}, timeout=self.timeout,
                        realm=self.realm)
                    # The URLs are in index order: an answer claiming another evaluator's
                    # index (bytes 4-5 of a ShareResponse) is dropped, its sender named, so
                    # it cannot crowd out that evaluator's genuine answer (review L1).
                    claimed = int.from_bytes(response[4:6], "big") if len(response) >= 6 else 0
                    if claimed != position:
                        last = f"{url} (evaluator {position}) answered as evaluator {claimed}: dropped"
                        continue
                    responses.append(response)
                except _Retry as retry:
                    retryable, last = True, str(retry)
                except EvaluatorRefused as refusal:
                    if refusal.code == "TweakMismatch":
                        conflicts += 1
                    else:
                        # One evaluator's refusal does not stop the batch while others serve.
                        refused = refusal
                if len(responses) >= t:
                    try:
                        texts, _used, _rejected = self.holder.finalize_threshold(
                            batch, self.shares, self.record, responses)
                        return texts
                    except ThresholdError as error:
                        if getattr(error, "code", "") != "TooFewShares":
                            raise
                        too_few = error
            # Nothing in this round is worth retrying: its reason is the answer.
            if not retryable and conflicts == 0:
                if refused is not None:
                    raise refused
                if too_few is not None:
                    raise too_few
            last = last or str(refused or too_few or "")
            if attempt + 1 < self.retries:
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
            if conflicts:
                before = self.digest
                self._fetch_record(renew=False)
                if self.digest == before and len(responses) + conflicts >= t:
                    self._fetch_record(renew=True)
        raise EvaluatorUnreachable(f"fewer than {t} evaluators answered after {self.retries} attempts: {last}")
