#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from the RFC test vectors in tests/vectors
and our own pseudonym-layer vectors in spec/vectors (flow messages, signed key sets, login
proofs, pseudonym texts, and the inputs of the negative vectors).

The relying_party seeds (genuine assertions) come from the library itself: see
tests/fuzz_corpus.rs, which checks them and rewrites them with BLINDNYM_WRITE_SEEDS=1.

Run from anywhere: python3 fuzz/seed_corpus.py. Files are named by the SHA-1 of their bytes,
as libFuzzer names its own corpus entries, so re-running is idempotent.
"""
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
OUR_VECTORS = ROOT / "spec" / "vectors"
CORPUS = ROOT / "fuzz" / "corpus"


def write(target, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    rfc9497 = json.loads((VECTORS / "rfc9497-vectors.json").read_text())
    rfc9496 = json.loads((VECTORS / "rfc9496-vectors.json").read_text())
    h = bytes.fromhex

    for enc in rfc9496["A1_multiples_of_generator"]["encodings"]:
        write("decoders", h(enc))
    for bad in rfc9496["A2_invalid_encodings"]["encodings"]:
        write("decoders", h(bad["encoding"]))

    for mode_index, (name, mode) in enumerate(rfc9497["modes"].items()):
        seed = h(mode["Seed"])
        write("decoders", h(mode["skSm"]))
        if "pkSm" in mode:
            write("decoders", h(mode["pkSm"]))
        for v in mode["vectors"]:
            info = h(v.get("Info", ""))
            for field in ("Blind", "BlindedElement", "EvaluationElement", "Output"):
                for item in v[field]:
                    write("decoders", h(item))
            if "Proof" in v:
                write("decoders", h(v["Proof"]))
                pairs = b"".join(
                    h(b) + h(e) for b, e in zip(v["BlindedElement"], v["EvaluationElement"])
                )
                selector = bytes([0 if name == "VOPRF" else 1])
                write(
                    "verify_proof",
                    seed + selector + bytes([len(info)]) + info + h(v["Proof"]) + pairs,
                )
            for item in v["Input"]:
                write("differential", seed + bytes([mode_index]) + bytes([len(info)]) + info + h(item))

    # Pseudonym-layer messages from our own vectors: genuine ones from the flow and key-set
    # vectors, near misses from the negative vectors.
    for name in ("key-set", "flow-h", "flow-a", "flow-b", "pseudonym-text", "negative"):
        ours = json.loads((OUR_VECTORS / f"{name}.json").read_text())
        for v in ours["vectors"]:
            for field in (
                "request",
                "response",
                "evaluation",
                "assertion",
                "login_proof",
                "challenge",
                "pseudonym",
                "signed_key_set",
                "input",
            ):
                if field in v:
                    write("protocol_decoders", h(v[field]))
            for field in ("pseudonym_text", "text"):
                if field in v:
                    write("protocol_decoders", v[field].encode())
            for text in v.get("pseudonym_texts", []):
                write("protocol_decoders", text.encode())

    threshold = json.loads((OUR_VECTORS / "threshold.json").read_text())
    for v in threshold["vectors"]:
        for role in ("holder_derived", "bulk"):
            for field in ("key_shares", "answers"):
                for item in v[role][field]:
                    write("threshold_decoders", h(item))
        for field in ("dealings", "private_shares", "products"):
            for item in v["bulk"][field]:
                write("threshold_decoders", h(item))
        write("threshold_decoders", h(v["bulk"]["record"]))


if __name__ == "__main__":
    main()
