"""Evidence files made inside the tests: synthetic photos, each GB 45438 label form, a C2PA manifest signed with a
throwaway certificate, an edited copy, decompression bombs and a file whose extension lies. No binary fixtures."""

import datetime
import io
import json
import struct
import zlib

import c2pa
import numpy as np
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

DOUBAO_PRODUCER = "001191110102MACQD9K64010000"  # a 27-character producer code as observed on Doubao files
LABEL = {
    "Label": "1",
    "ContentProducer": DOUBAO_PRODUCER,
    "ProduceID": "20251124-0001",
    "ReservedCode1": "",
    "ContentPropagator": "",
    "PropagateID": "",
    "ReservedCode2": "",
}
TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
IPTC_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def photo(width: int = 800, height: int = 600, seed: int = 1) -> Image.Image:
    """Return a synthetic 'lock on a door' picture: gradients, shapes and sensor-like noise, deterministic."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [
            120 + 60 * np.sin(x / width * 3 + seed),
            100 + 50 * np.cos(y / height * 4 + seed / 2),
            90 + 40 * np.sin((x + y) / (width + height) * 5),
        ],
        axis=-1,
    )
    base += rng.normal(0, 6, base.shape)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, width * 3 // 4)), int(rng.integers(0, height * 3 // 4))
        size = int(rng.integers(width // 10, width // 4))
        colour = tuple(int(value) for value in rng.integers(0, 255, 3))
        draw.rectangle((x0, y0, x0 + size, y0 + size // 2), fill=colour)
        draw.ellipse((x0 + size // 4, y0, x0 + size, y0 + size), outline=(20, 20, 20), width=max(2, width // 200))
    return image


def encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        options.setdefault("quality", 92)
    image.save(out, fmt, **options)
    return out.getvalue()


def edited_copy(image: Image.Image, fraction: float = 0.05) -> Image.Image:
    """Return the picture with a dark 'damage' blob and scratches over about `fraction` of the frame."""
    edited = image.copy()
    draw = ImageDraw.Draw(edited)
    width, height = edited.size
    side = int((fraction * width * height) ** 0.5)
    x0, y0 = width // 2 - side // 2, height // 2 - side // 2
    draw.ellipse((x0, y0, x0 + side, y0 + side), fill=(15, 12, 10))
    for offset in range(0, side, max(4, side // 6)):
        draw.line(
            (x0 - side // 3, y0 + offset, x0 + side + side // 3, y0 + offset + side // 4), fill=(5, 5, 5), width=3
        )
    return edited


def xmp_packet(*, label: dict | None = None, wrapped: bool = False, attribute: bool = False, iptc: str = "") -> bytes:
    """Return an XMP packet with the TC260 AIGC property (element or attribute form) and/or an IPTC source type."""
    value = json.dumps({"AIGC": label} if wrapped else label, separators=(",", ":")) if label else ""
    escaped = value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    attributes = f' TC260:AIGC="{escaped}"' if (label and attribute) else ""
    children = f"<TC260:AIGC>{escaped}</TC260:AIGC>" if (label and not attribute) else ""
    if iptc:
        children += f'<Iptc4xmpExt:DigitalSourceType rdf:resource="{iptc}"/>'
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:TC260="{TC260_NS}" xmlns:Iptc4xmpExt="{IPTC_NS}"{attributes}>'
        f"{children}</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def exif(
    *,
    make: str = "",
    model: str = "",
    software: str = "",
    taken: str = "",
    offset: str = "",
    user_comment: bytes = b"",
    gps: tuple[float, float] | None = None,
) -> Image.Exif:
    data = Image.Exif()
    if make:
        data[0x010F] = make
    if model:
        data[0x0110] = model
    if software:
        data[0x0131] = software
    sub = data.get_ifd(0x8769)
    if taken:
        sub[0x9003] = taken
    if offset:
        sub[0x9011] = offset
    if user_comment:
        sub[0x9286] = user_comment
    if gps:
        lat, lng = gps

        def dms(value: float) -> tuple[float, float, float]:
            degrees = int(abs(value))
            minutes = int((abs(value) - degrees) * 60)
            return (float(degrees), float(minutes), round((abs(value) - degrees - minutes / 60) * 3600, 4))

        gps_ifd = data.get_ifd(0x8825)
        gps_ifd[1], gps_ifd[2] = ("N" if lat >= 0 else "S"), dms(lat)
        gps_ifd[3], gps_ifd[4] = ("E" if lng >= 0 else "W"), dms(lng)
    return data


def jpeg_xmp_label() -> bytes:
    return encode(photo(), "JPEG", xmp=xmp_packet(label=LABEL))


def webp_xmp_attribute_label() -> bytes:
    return encode(photo(), "WEBP", quality=90, xmp=xmp_packet(label=dict(LABEL, Label="2"), attribute=True))


def png_text_label() -> bytes:
    info = PngInfo()
    info.add_text("AIGC", json.dumps({"AIGC": LABEL}))
    return encode(photo(), "PNG", pnginfo=info)


def png_itxt_xmp_label() -> bytes:
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp_packet(label=dict(LABEL, Label="3"), wrapped=True).decode())
    return encode(photo(), "PNG", pnginfo=info)


def jpeg_exif_user_comment_label() -> bytes:
    comment = b"ASCII\x00\x00\x00" + json.dumps({"AIGC": LABEL}).encode()
    return encode(photo(), "JPEG", exif=exif(user_comment=comment))


def png_private_chunk_label() -> bytes:
    """A PNG with a private `aIGC` chunk after the image data (where Pillow's own reader does not look)."""
    data = encode(photo(200, 150), "PNG")
    body = json.dumps({"AIGC": LABEL}).encode()
    chunk = struct.pack(">I", len(body)) + b"aIGC" + body + struct.pack(">I", zlib.crc32(b"aIGC" + body))
    return data[:-12] + chunk + data[-12:]  # before IEND


def _certificate_chain() -> tuple[bytes, bytes]:
    """Return (leaf + CA PEM chain, leaf private key PEM): a throwaway ES256 CA for signing C2PA fixtures."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Throwaway Test Root")])
    no_usage = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**{**no_usage, "key_cert_sign": True, "crl_sign": True}), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "Fixture Generator"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example AI Lab"),
                ]
            )
        )
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**{**no_usage, "digital_signature": True}), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return chain, private


def c2pa_signed_jpeg(source_type: str = AI_SOURCE) -> bytes:
    """Return a JPEG with an embedded C2PA manifest, signed now with a throwaway certificate."""
    chain, private = _certificate_chain()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private, None))
    manifest = {
        "claim_generator_info": [{"name": "forensics-fixture", "version": "1"}],
        "title": "generated.jpg",
        "format": "image/jpeg",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": source_type}]},
            }
        ],
    }
    context = c2pa.Context.from_dict({"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}})
    out = io.BytesIO()
    with c2pa.Builder(manifest, context=context) as builder:
        builder.sign(signer, "image/jpeg", io.BytesIO(encode(photo(400, 300))), out)
    return out.getvalue()


def png_header_bomb(width: int, height: int) -> bytes:
    """Return a tiny PNG whose header claims width x height (the data is cut short: only the header is read)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    ihdr = struct.pack(">I", len(header)) + b"IHDR" + header + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    idat_body = zlib.compress(b"\x00" * 1024)
    idat = struct.pack(">I", len(idat_body)) + b"IDAT" + idat_body + struct.pack(">I", zlib.crc32(b"IDAT" + idat_body))
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))


def png_real_bomb(width: int = 8000, height: int = 6000) -> bytes:
    """Return a complete, valid greyscale PNG of zeros: a few tens of KB that decode to width*height pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = b"\x00" * (width + 1)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
