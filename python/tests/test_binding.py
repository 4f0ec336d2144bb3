"""The binding itself: RFC 9497 and our own known answers through the Python API, the errors
as exceptions with their codes, and the client against real evaluator processes (one, and a
2-of-3 threshold set) equal to the library's non-blind evaluation."""

import json

import pyarrow as pa
import pytest

import blindnym
from blindnym import _blindnym
from conftest import DOMAIN, REALM, ROOT


def load(path):
    return json.loads((ROOT / path).read_text())


def test_rfc9497_vectors_through_the_binding():
    modes = load("tests/vectors/rfc9497-vectors.json")["modes"]
    checked = 0
    for name, mode in modes.items():
        seed, key_info = bytes.fromhex(mode["Seed"]), bytes.fromhex(mode["KeyInfo"])
        secret, public = _blindnym.rfc9497_derive_key_pair(name, seed, key_info)
        assert secret.hex() == mode["skSm"], name
        if "pkSm" in mode:
            assert public.hex() == mode["pkSm"], name
        for vector in mode["vectors"]:
            for i, item in enumerate(vector["Input"]):
                info = bytes.fromhex(vector["Info"]) if "Info" in vector else None
                output = _blindnym.rfc9497_evaluate(name, seed, key_info, bytes.fromhex(item), info)
                assert output.hex() == vector["Output"][i], (name, vector["name"])
                checked += 1
    assert checked >= 9


def test_our_vectors_through_the_binding():
    for vector in load("spec/vectors/pseudonym-text.json")["vectors"]:
        assert blindnym.pseudonym_text(bytes.fromhex(vector["pseudonym"])) == vector["text"]
        assert blindnym.pseudonym_parse(vector["text"]).hex() == vector["pseudonym"]
    key_set = load("spec/vectors/key-set.json")["vectors"][0]
    for vector in load("spec/vectors/flow-b.json")["vectors"]:
        # The signed key set verifies against its anchor at the vector's clock.
        blindnym.verify_key_set(bytes.fromhex(key_set["signed_key_set"]),
                                bytes.fromhex(key_set["anchor"]),
                                key_set["realm"].encode(), now=vector["now"])
        texts = _blindnym.evaluate_direct(
            bytes.fromhex(key_set["root_seed"]), key_set["realm"].encode(),
            key_set["first_epoch"], vector["epoch"], vector["domain"].encode(),
            pa.array(vector["identities"]))
        assert texts.to_pylist() == vector["pseudonym_texts"]


def test_errors_are_exceptions_with_codes():
    with pytest.raises(blindnym.InvalidInput) as error:
        blindnym.pseudonym_parse("bn1-qqqq")
    assert error.value.code == "InvalidText"
    key_set = load("spec/vectors/key-set.json")["vectors"][0]
    with pytest.raises(blindnym.KeySetError) as error:
        blindnym.verify_key_set(bytes.fromhex(key_set["signed_key_set"]),
                                bytes.fromhex(key_set["anchor"]), b"another realm")
    assert isinstance(error.value, blindnym.BlindnymError)
    keys = blindnym.verify_key_set(bytes.fromhex(key_set["signed_key_set"]),
                                   bytes.fromhex(key_set["anchor"]), key_set["realm"].encode(),
                                   now=load("spec/vectors/flow-b.json")["vectors"][0]["now"])
    holder = blindnym.DataHolder(keys, b"health")
    for ids, code in [
        (pa.array(["a", None]), "NullIdentity"),
        (pa.array([1, 2]), "UnsupportedType"),
        (pa.array([], pa.string()), "EmptyBatch"),
        (pa.array(["x" * 70000]), "InputTooLong"),
    ]:
        with pytest.raises(blindnym.InvalidInput) as error:
            holder.blind(ids)
        assert error.value.code == code
    batch, _ = holder.blind(pa.array(["a"]))
    with pytest.raises(blindnym.InvalidInput) as error:
        holder.finalize(batch, b"\x00" * 10)
    assert error.value.code in ("InvalidLength", "EmptyBatch")
    assert "redacted" in repr(batch)


def reference(evaluator, ids):
    return _blindnym.evaluate_direct(evaluator.root_seed, REALM.encode(), 1, 1,
                                     DOMAIN.encode(), ids)


def test_one_evaluator_equals_the_library(evaluator):
    client = blindnym.Evaluators(evaluator.urls, evaluator.key, evaluator.anchor, REALM, DOMAIN)
    ids = pa.array([f"1{n * 7919:017d}" for n in range(2500)])
    assert client.pseudonymise(ids).equals(reference(evaluator, ids))
    with_nulls = pa.array(["a", None, "b"])
    out = client.pseudonymise(with_nulls)
    assert out.to_pylist()[1] is None
    assert out.to_pylist()[0] == reference(evaluator, pa.array(["a"])).to_pylist()[0]
    with pytest.raises(blindnym.InvalidInput) as error:
        client.pseudonymise(with_nulls, nulls="error")
    assert error.value.code == "NullIdentity"


class _Relabelling:
    """A stand-in for evaluator 1 (review L1): it forwards each request to the real one,
    signed anew for it, and relabels every flow B answer as evaluator 2's."""

    def __init__(self, target: str, key: "blindnym.RequestKey"):
        import http.server
        import threading
        import urllib.error
        import urllib.request

        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def forward(self, body):
                url = target + self.path
                request = urllib.request.Request(url, data=body, method=self.command)
                if body is not None:
                    tweak = self.headers.get("Blindnym-Tweak")
                    for name, value in key.sign(url, REALM, body, tweak).items():
                        request.add_header(name, value)
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, payload = response.status, response.read()
                except urllib.error.HTTPError as error:
                    status, payload = error.code, error.read()
                if status == 200 and self.path.endswith("/flow-b/evaluate"):
                    payload = payload[:4] + (2).to_bytes(2, "big") + payload[6:]
                    outer.relabelled += 1
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                self.forward(None)

            def do_POST(self):
                self.forward(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

        self.relabelled = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_an_answer_under_another_evaluators_index_is_dropped(threshold_set):
    """L1: evaluator 1's answers arrive labelled as evaluator 2's. The client drops them, so
    they cannot crowd out evaluator 2's genuine answers, and evaluators 2 and 3 serve."""
    key = blindnym.RequestKey(open(threshold_set.key).read())
    mock = _Relabelling(threshold_set.urls[0], key)
    try:
        urls = [mock.url] + threshold_set.urls[1:]
        client = blindnym.Evaluators(urls, key, threshold_set.anchor, REALM, DOMAIN)
        ids = pa.array([f"id-{n}" for n in range(100)])
        # Ten batches: the first evaluator asked rotates, so some start at the relabeller.
        assert client.pseudonymise(ids, batch_size=10).equals(reference(threshold_set, ids))
        assert mock.relabelled >= 1
    finally:
        mock.server.shutdown()


def test_a_threshold_set_equals_the_library(threshold_set):
    client = blindnym.Evaluators(threshold_set.urls, threshold_set.key, threshold_set.anchor, REALM, DOMAIN)
    assert client.shares.t == 2
    ids = pa.array([f"id-{n}" for n in range(3000)], pa.large_string())
    assert client.pseudonymise(ids).equals(reference(threshold_set, ids))
    # One evaluator of three gone for good: the other two (t = 2) still serve, exactly.
    threshold_set.processes[2].kill()
    threshold_set.processes[2].wait()
    assert client.pseudonymise(ids.slice(0, 1500)).equals(reference(threshold_set, ids.slice(0, 1500)))
    # A domain the caller is not granted: the reason, not a retry loop.
    with pytest.raises(blindnym.EvaluatorRefused) as error:
        blindnym.Evaluators(threshold_set.urls, threshold_set.key, threshold_set.anchor, REALM, "another domain")
    assert error.value.code == "Unauthorized"


def test_a_refusal_carries_the_evaluators_reason(evaluator):
    client = blindnym.Evaluators(evaluator.urls, evaluator.key, evaluator.anchor, REALM, "another domain")
    with pytest.raises(blindnym.EvaluatorRefused) as error:
        client.pseudonymise(pa.array(["a"]))
    assert error.value.code == "Unauthorized"
    with pytest.raises(blindnym.EvaluatorRefused) as error:
        stranger = blindnym.RequestKey("07" * 32)
        blindnym.Evaluators(evaluator.urls, stranger, evaluator.anchor, REALM, DOMAIN) \
            .pseudonymise(pa.array(["a"]))
    assert error.value.code == "UnknownCaller"


def test_the_last_accepted_key_set_is_kept_between_runs(evaluator, tmp_path):
    """Issue 20: with `key_set_state` the client keeps the set it accepted, accepts it again
    on the next run, and refuses to start from a kept set it cannot trust (here, one signed
    by another key) rather than forget its history."""
    state = tmp_path / "key-set.state"
    first = blindnym.Evaluators(evaluator.urls, evaluator.key, evaluator.anchor, REALM, DOMAIN,
                                key_set_state=state)
    kept = state.read_bytes()
    assert first.key_set_digest == first.key_set.digest and len(first.key_set_digest) == 32
    again = blindnym.Evaluators(evaluator.urls, evaluator.key, evaluator.anchor, REALM, DOMAIN,
                                key_set_state=state)
    assert again.key_set_digest == first.key_set_digest and state.read_bytes() == kept
    forged = bytearray(kept)
    forged[-1] ^= 1
    state.write_bytes(bytes(forged))
    with pytest.raises(blindnym.KeySetError):
        blindnym.Evaluators(evaluator.urls, evaluator.key, evaluator.anchor, REALM, DOMAIN,
                            key_set_state=state)
