import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import translation
from PIL import ImageOps

from complaints.forensics import (
    EvidenceContext,
    HashRef,
    Level,
    _wgs84_to_gcj02,
    evidence_signals,
    hamming,
    perceptual_hashes,
    signal_message,
)
from tests.complaints import fixtures_forensics as fx

NO_CONTEXT = EvidenceContext()


def signals_of(data: bytes, context: EvidenceContext = NO_CONTEXT) -> dict:
    signals = evidence_signals(data=data, context=context)
    by_kind = {}
    for signal in signals:
        by_kind.setdefault(signal.kind, []).append(signal)
    return by_kind


@pytest.mark.parametrize(
    ("make", "label", "level", "places"),
    [
        (fx.jpeg_xmp_label, "1", Level.WARNING, ["xmp"]),
        (fx.webp_xmp_attribute_label, "2", Level.NOTICE, ["xmp"]),
        (fx.png_text_label, "1", Level.WARNING, ["png_text"]),
        (fx.png_itxt_xmp_label, "3", Level.NOTICE, ["xmp"]),
        (fx.jpeg_exif_user_comment_label, "1", Level.WARNING, ["exif_UserComment"]),
        (fx.png_private_chunk_label, "1", Level.WARNING, ["png_text"]),
    ],
    ids=["jpeg-xmp", "webp-xmp-attribute", "png-text", "png-itxt-xmp", "jpeg-exif-usercomment", "png-private-chunk"],
)
def test_reads_gb45438_label_wherever_it_sits(make, label, level, places):
    (signal,) = signals_of(make())["aigc_label"]
    assert (signal.level, signal.params["label"], signal.params["places"]) == (level, label, places)
    assert signal.params["producer"] == fx.DOUBAO_PRODUCER
    assert signal.params["fields"]["ProduceID"] == "20251124-0001"  # kept verbatim


def test_label_message_says_it_does_not_prove_fake():
    with translation.override("en"):
        (signal,) = signals_of(fx.jpeg_xmp_label())["aigc_label"]
    assert "Label 1: AI-generated" in signal.message
    assert "does not prove the damage is fake" in signal.message


def test_json_without_label_keys_is_not_a_label():
    data = fx.encode(fx.photo(), "JPEG", xmp=fx.xmp_packet(label={"foo": "bar"}))
    assert "aigc_label" not in signals_of(data)


def test_one_label_in_two_places_is_one_signal():
    comment = b"ASCII\x00\x00\x00" + json.dumps({"AIGC": fx.LABEL}).encode()
    data = fx.encode(fx.photo(), "JPEG", exif=fx.exif(user_comment=comment), xmp=fx.xmp_packet(label=fx.LABEL))
    (signal,) = signals_of(data)["aigc_label"]
    assert sorted(signal.params["places"]) == ["exif_UserComment", "xmp"]


def test_xmp_with_entities_is_reported_unreadable_not_expanded():
    packet = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>'
    )
    found = signals_of(fx.encode(fx.photo(), "JPEG", xmp=packet))
    assert found["metadata_unreadable"][0].params == {"place": "xmp"}
    assert "aigc_label" not in found


def test_reads_signed_c2pa_manifest_offline():
    (signal,) = signals_of(fx.c2pa_signed_jpeg())["c2pa_ai_source"]
    assert signal.level == Level.WARNING
    assert signal.params["source_type"] == "trainedAlgorithmicMedia"
    assert (signal.params["issuer"], signal.params["validation_state"]) == ("Example AI Lab", "Valid")
    with translation.override("en"):
        assert "not checked against a trust list" in signal_message(kind=signal.kind, params=signal.params)


def test_c2pa_manifest_of_a_camera_capture_is_information_only():
    found = signals_of(fx.c2pa_signed_jpeg("http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"))
    assert "c2pa_ai_source" not in found
    assert found["c2pa_manifest"][0].level == Level.INFO
    assert "no_signals" in found


def test_c2pa_manifest_that_no_longer_matches_the_file():
    data = bytearray(fx.c2pa_signed_jpeg())
    data[-200] ^= 0xFF  # one byte of the image data after the manifest was signed
    found = signals_of(bytes(data))
    assert found["c2pa_mismatch"][0].level == Level.NOTICE
    assert any(code.startswith("assertion.") for code in found["c2pa_mismatch"][0].params["codes"])


def test_reencoded_c2pa_file_loses_its_manifest():
    from io import BytesIO

    from PIL import Image

    data = fx.encode(Image.open(BytesIO(fx.c2pa_signed_jpeg())))
    found = signals_of(data)
    assert not {"c2pa_ai_source", "c2pa_manifest"} & found.keys()
    assert "no_signals" in found


@pytest.mark.parametrize(
    ("source", "level"),
    [("compositeWithTrainedAlgorithmicMedia", Level.NOTICE), ("trainedAlgorithmicMedia", Level.WARNING)],
)
def test_reads_iptc_ai_source_type(source, level):
    xmp = fx.xmp_packet(iptc=f"http://cv.iptc.org/newscodes/digitalsourcetype/{source}")
    (signal,) = signals_of(fx.encode(fx.photo(), "JPEG", xmp=xmp))["iptc_ai_source"]
    assert (signal.level, signal.params["source_type"]) == (level, source)


@pytest.mark.parametrize("source", ["digitalCapture", "computationalCapture"])
def test_ordinary_phone_source_types_are_not_flagged(source):
    xmp = fx.xmp_packet(iptc=f"http://cv.iptc.org/newscodes/digitalsourcetype/{source}")
    found = signals_of(fx.encode(fx.photo(), "JPEG", xmp=xmp))
    assert "iptc_ai_source" not in found and "no_signals" in found


def test_editing_software_is_information():
    data = fx.encode(fx.photo(), "JPEG", exif=fx.exif(make="Xiaomi", model="14", software="MTXX 美图秀秀".encode()))
    (signal,) = signals_of(data)["editing_software"]
    assert (signal.level, signal.params["software"]) == (Level.INFO, "MTXX 美图秀秀")


def test_camera_firmware_version_is_not_editing_software():
    data = fx.encode(fx.photo(), "JPEG", exif=fx.exif(make="Apple", model="iPhone 15", software="17.2"))
    assert "editing_software" not in signals_of(data)


def test_generator_name_in_tool_fields():
    data = fx.encode(fx.photo(), "JPEG", exif=fx.exif(make="Ideogram AI"))
    (signal,) = signals_of(data)["generator_tag"]
    assert (signal.level, signal.params["tool"]) == (Level.NOTICE, "Ideogram AI")


def test_low_jpeg_quality_is_information():
    (signal,) = signals_of(fx.encode(fx.photo(), "JPEG", quality=50))["low_jpeg_quality"]
    assert signal.level == Level.INFO and 45 <= signal.params["quality"] <= 55
    assert "low_jpeg_quality" not in signals_of(fx.encode(fx.photo(), "JPEG", quality=92))


def test_missing_capture_metadata_is_harmless_and_proves_nothing():
    with translation.override("en"):
        signals = evidence_signals(data=fx.encode(fx.photo()), context=NO_CONTEXT)
    assert [(signal.kind, signal.level) for signal in signals] == [
        ("no_capture_metadata", Level.INFO),
        ("no_signals", Level.INFO),
    ]
    assert "Common after WeChat compressed sends" in signals[0].message
    assert "does not confirm the photo is genuine" in signals[1].message


def test_no_signals_is_absent_when_something_was_found():
    signals = evidence_signals(data=fx.jpeg_xmp_label(), context=NO_CONTEXT)
    assert "no_signals" not in {signal.kind for signal in signals}
    assert signals[0].kind == "aigc_label"  # strongest first


ARRIVED = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TIMELINE = EvidenceContext(
    ticket_created_at=ARRIVED - timedelta(hours=1),
    technician_arrived_at=ARRIVED,
    ticket_completed_at=ARRIVED + timedelta(hours=1),
    complaint_filed_at=ARRIVED + timedelta(days=1),
)


def test_capture_before_the_technician_arrived_is_notable():
    data = fx.encode(fx.photo(), "JPEG", exif=fx.exif(make="Apple", model="iPhone 15", taken="2026:11:26 07:40:00"))
    with translation.override("en"):
        (signal,) = signals_of(data, TIMELINE)["capture_time"]
    assert signal.level == Level.NOTICE  # no offset in the file: Asia/Shanghai assumed
    assert (signal.params["delta_seconds"], signal.params["local_time"]) == (8400, "2026-11-26 07:40")
    assert "2 h 20 min before the technician arrived" in signal.message


def test_capture_time_offset_is_honoured():
    data = fx.encode(fx.photo(), "JPEG", exif=fx.exif(taken="2026:11:26 03:30:00", offset="+01:00"))
    (signal,) = signals_of(data, TIMELINE)["capture_time"]
    assert (signal.level, signal.params["message_code"]) == (Level.INFO, "capture_time_within")


def test_capture_after_the_complaint_is_information():
    data = fx.encode(fx.photo(), "JPEG", exif=fx.exif(taken="2026:11:28 10:00:00"))
    (signal,) = signals_of(data, TIMELINE)["capture_time"]
    assert (signal.level, signal.params["message_code"]) == (Level.INFO, "capture_time_after")
    assert signal.params["delta_seconds"] == 86400


@pytest.mark.parametrize(("datum", "offset_km", "expected"), [("gcj02", 0.0, "0.0"), ("gcj02", 0.05, "5.6")])
def test_gps_distance_from_the_address(datum, offset_km, expected):
    photo_point = (31.2304, 121.4737)
    address = _wgs84_to_gcj02(*photo_point)
    context = EvidenceContext(address_lat=address[0] + offset_km, address_lng=address[1], address_datum=datum)
    data = fx.encode(fx.photo(), "JPEG", exif=fx.exif(make="HUAWEI", model="Mate 60", gps=photo_point))
    (signal,) = signals_of(data, context)["gps_distance"]
    assert (signal.level, signal.params["km"]) == (Level.INFO, expected)


def test_datum_offset_is_not_mistaken_for_distance():
    photo_point = (31.2304, 121.4737)
    address = _wgs84_to_gcj02(*photo_point)  # several hundred metres from the WGS-84 point
    context = EvidenceContext(address_lat=address[0], address_lng=address[1])  # datum unknown
    data = fx.encode(fx.photo(), "JPEG", exif=fx.exif(gps=photo_point))
    assert signals_of(data, context)["gps_distance"][0].params["km"] == "0.0"


def test_several_devices_in_one_complaint():
    data = fx.encode(fx.photo(), "JPEG", exif=fx.exif(make="HUAWEI", model="Mate 60"))
    (signal,) = signals_of(data, EvidenceContext(other_devices=("Apple iPhone 15",)))["device_mix"]
    assert (signal.params["count"], signal.params["models"]) == (2, ["Apple iPhone 15", "HUAWEI Mate 60"])
    assert "device_mix" not in signals_of(data, EvidenceContext(other_devices=("HUAWEI Mate 60",)))


BASE = fx.photo(1200, 900, seed=3)
TECH_AFTER = fx.encode(BASE)


def technician(data: bytes = TECH_AFTER, kind: str = "after") -> EvidenceContext:
    return EvidenceContext(technician_photos=(HashRef(phash=perceptual_hashes(data=data).phash, ref="17", kind=kind),))


def test_edited_copy_of_the_technician_photo_is_flagged():
    customer = fx.encode(fx.edited_copy(BASE, 0.05), "JPEG", quality=80)
    (signal,) = signals_of(customer, technician())["derived_from_tech_photo"]
    assert signal.level == Level.NOTICE
    assert signal.params["message_code"] == "derived_near"
    assert 5 <= signal.params["distance"] <= 12
    assert (signal.params["photo_kind"], signal.params["media"]) == ("after", "17")


def test_resent_technician_photo_is_the_same_photo():
    resent = fx.encode(BASE.resize((640, 480)), "JPEG", quality=70)  # a chat app's resize and recompression
    (signal,) = signals_of(resent, technician(kind="before"))["derived_from_tech_photo"]
    assert (signal.params["message_code"], signal.params["distance"]) == ("derived_same", 0)


def test_mirrored_copy_is_found():
    (signal,) = signals_of(fx.encode(ImageOps.mirror(BASE)), technician())["derived_from_tech_photo"]
    assert signal.params["mirrored"] is True and signal.params["distance"] <= 4


def test_unrelated_photo_is_not_matched():
    other = fx.encode(fx.photo(1200, 900, seed=11))
    assert hamming(perceptual_hashes(data=other).phash, perceptual_hashes(data=TECH_AFTER).phash) > 12
    assert "derived_from_tech_photo" not in signals_of(other, technician())


def test_near_duplicate_in_another_complaint():
    candidate = HashRef(
        phash=perceptual_hashes(data=TECH_AFTER).phash,
        ref="88",
        complaint_number="TS20261101001",
        complaint_date="2026-11-01",
    )
    resent = fx.encode(BASE, "JPEG", quality=75)
    (signal,) = signals_of(resent, EvidenceContext(other_complaint_photos=(candidate,)))["dup_other_complaint"]
    assert (signal.params["complaint"], signal.params["date"], signal.params["message_code"]) == (
        "TS20261101001",
        "2026-11-01",
        "dup_other_complaint_same",
    )


def test_uniform_images_are_never_matched():
    dark = fx.encode(fx.photo(400, 300).point(lambda value: 3))
    hashes = perceptual_hashes(data=dark)
    assert hashes.low_detail
    context = EvidenceContext(technician_photos=(HashRef(phash=hashes.phash, ref="1", kind="after"),))
    assert "derived_from_tech_photo" not in signals_of(dark, context)


def test_reads_aigc_tag_in_a_video_container():
    label = json.dumps({"AIGC": fx.LABEL}, separators=(",", ":")).encode()
    mp4 = (
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64 + b"udta\x00\x00meta" + label + b"\x00" * 64
    )
    (signal,) = signals_of(mp4)["aigc_label"]
    assert (signal.params["places"], signal.params["producer"]) == (["video_metadata"], fx.DOUBAO_PRODUCER)


def test_signals_are_json_safe():
    signals = evidence_signals(data=fx.c2pa_signed_jpeg(), context=TIMELINE)
    json.dumps([signal.as_dict() for signal in signals])
