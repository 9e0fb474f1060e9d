import io
import json

from django.core.management import call_command

from tests.complaints import fixtures_forensics as fx


def run(*args) -> str:
    out = io.StringIO()
    call_command("check_evidence", *args, stdout=out)
    return out.getvalue()


def test_jsonl_gives_one_object_per_file(tmp_path):
    labelled = tmp_path / "damage.jpg"
    labelled.write_bytes(fx.jpeg_xmp_label())
    liar = tmp_path / "lock.jpg"
    liar.write_bytes(b"%PDF-1.7 not a photo")
    lines = run(str(labelled), str(liar), str(tmp_path / "missing.jpg"), "--format", "jsonl").splitlines()
    first, second, third = (json.loads(line) for line in lines)
    assert set(first) == {"file", "accepted", "reason", "signals"}
    assert (first["file"], first["accepted"], first["reason"]) == (str(labelled), True, None)
    assert set(first["signals"][0]) == {"kind", "level", "message", "params"}
    assert (first["signals"][0]["kind"], first["signals"][0]["params"]["label"]) == ("aigc_label", "1")
    assert (second["accepted"], second["reason"], second["signals"]) == (False, "type_not_allowed", [])
    assert (third["accepted"], third["reason"]) == (False, "not_found")


def test_files_given_together_are_one_complaint_for_devices(tmp_path):
    for name, make, model in (("a.jpg", "Apple", "iPhone 15"), ("b.jpg", "HUAWEI", "Mate 60")):
        (tmp_path / name).write_bytes(fx.encode(fx.photo(), "JPEG", exif=fx.exif(make=make, model=model)))
    results = [
        json.loads(line)
        for line in run(str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg"), "--format", "jsonl").splitlines()
    ]
    for result in results:
        (mix,) = [signal for signal in result["signals"] if signal["kind"] == "device_mix"]
        assert mix["params"]["count"] == 2


def test_table_lists_signals_and_refusals(tmp_path):
    clean = tmp_path / "clean.jpg"
    clean.write_bytes(fx.encode(fx.photo()))
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(fx.png_header_bomb(50_000, 50_000))
    output = run(str(clean), str(bomb), "--max-bytes", "1000000")
    assert "no_signals" in output and "no_capture_metadata" in output
    assert f"{bomb}: refused (too_many_pixels)" in output
