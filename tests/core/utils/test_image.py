"""Uploaded images: opened safely, upright, sRGB, without metadata; resized,
compressed and converted with transparency kept where the format allows."""

import base64
import io
import random
import struct
import warnings
import zlib
from collections.abc import Callable

import pytest
from PIL import Image, ImageCms, ImageFile

from core.utils.image import (
    ALLOWED_FORMATS,
    MIN_SIDE_PX,
    ImageCannotFit,
    ImageDamaged,
    ImageTooLarge,
    UnsupportedImage,
    compress_to_size,
    convert,
    encode,
    open_image,
    resize,
    thumbnail,
    to_data_uri,
)

pytestmark = pytest.mark.engine_independent

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)
GPS_IFD = 0x8825
MAKE, ORIENTATION = 0x010F, 0x0112


def image_bytes(image: Image.Image, format: str, **options: object) -> bytes:
    output = io.BytesIO()
    image.save(output, format=format, **options)
    return output.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    """A PNG chunk with its length and CRC."""
    crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels and whose pixel data
    chunk is a few bytes with a wrong CRC: any attempt to read pixels fails."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    broken_idat = chunk(b"IDAT", b"not pixel data")[:-4] + b"\0\0\0\0"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + broken_idat
        + chunk(b"IEND", b"")
    )


def halves(
    size: tuple[int, int], left: tuple[int, ...], right: tuple[int, ...]
) -> Image.Image:
    """An RGB(A) image, `left` colour on its left half and `right` on the other."""
    mode = "RGBA" if len(left) == 4 else "RGB"
    image = Image.new(mode, size, right)
    image.paste(left, (0, 0, size[0] // 2, size[1]))
    return image


def noise(size: tuple[int, int], seed: int = 7) -> Image.Image:
    """Random pixels: the hardest thing to compress."""
    data = random.Random(seed).randbytes(size[0] * size[1] * 3)  # noqa: S311 (test pixels)
    return Image.frombytes("RGB", size, data)


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def close_to(
    actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12
) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def swapped_red_and_blue_profile() -> bytes:
    """An ICC profile like sRGB but with the red and blue primaries swapped:
    its "red" (200, 30, 30) is sRGB's blue (30, 30, 200)."""
    profile = bytearray(
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    )
    count = struct.unpack(">I", profile[128:132])[0]
    entries = {}
    for index in range(count):
        start = 132 + 12 * index
        signature = bytes(profile[start : start + 4])
        entries[signature] = (start + 4, bytes(profile[start + 4 : start + 12]))
    (red_at, red), (blue_at, blue) = entries[b"rXYZ"], entries[b"bXYZ"]
    profile[red_at : red_at + 8], profile[blue_at : blue_at + 8] = blue, red
    return bytes(profile)


# -- open_image: what is accepted ---------------------------------------------
@pytest.mark.parametrize("format", ALLOWED_FORMATS)
def test_each_allowed_format_opens_as_rgb(format: str) -> None:
    data = image_bytes(halves((40, 20), RED, BLUE), format)

    image = open_image(data)

    assert image.mode == "RGB"
    assert image.size == (40, 20)
    assert close_to(pixel(image, (5, 10)), RED)
    assert close_to(pixel(image, (35, 10)), BLUE)


def test_exif_orientation_6_is_turned_upright() -> None:
    # Given a landscape photo (red left, blue right) the camera marked
    # "rotate 90 degrees clockwise to display" (orientation 6).
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    data = image_bytes(halves((40, 20), RED, BLUE), "JPEG", exif=exif)

    image = open_image(data)

    # Then it is portrait, the left (red) edge now at the top.
    assert image.size == (20, 40)
    assert close_to(pixel(image, (10, 5)), RED)
    assert close_to(pixel(image, (10, 35)), BLUE)


def test_palette_png_with_transparency_opens_as_rgba() -> None:
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([*RED, *BLUE])
    palette.putpixel((0, 0), 1)
    data = image_bytes(palette, "PNG", transparency=1)

    image = open_image(data)

    assert image.mode == "RGBA"
    assert pixel(image, (0, 0))[3] == 0
    assert pixel(image, (1, 1)) == (*RED, 255)


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    grey = Image.new("I;16", (2, 1))
    grey.putpixel((0, 0), 65535)
    grey.putpixel((1, 0), 32768)

    image = open_image(image_bytes(grey, "PNG"))

    assert pixel(image, (0, 0)) == WHITE
    assert pixel(image, (1, 0)) == (128, 128, 128)


def test_colours_are_converted_from_the_icc_profile_to_srgb() -> None:
    # Given an image whose profile says its "red" channel is sRGB's blue.
    data = image_bytes(
        Image.new("RGB", (4, 4), (200, 30, 30)),
        "PNG",
        icc_profile=swapped_red_and_blue_profile(),
    )

    image = open_image(data)

    assert close_to(pixel(image, (0, 0)), (30, 30, 200), tolerance=2)
    assert "icc_profile" not in image.info


def test_a_palette_image_with_a_profile_is_converted_too() -> None:
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([200, 30, 30])
    data = image_bytes(palette, "PNG", icc_profile=swapped_red_and_blue_profile())

    image = open_image(data)

    assert image.mode == "RGB"
    assert close_to(pixel(image, (0, 0)), (30, 30, 200), tolerance=2)


@pytest.mark.parametrize(
    "profile",
    [
        b"not an ICC profile",
        ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(),
    ],
    ids=["unreadable", "not-an-rgb-profile"],
)
def test_an_unusable_profile_keeps_the_values_and_is_dropped(profile: bytes) -> None:
    data = image_bytes(
        Image.new("RGB", (4, 4), (200, 30, 30)), "PNG", icc_profile=profile
    )

    image = open_image(data)

    assert pixel(image, (0, 0)) == (200, 30, 30)
    assert image.info == {}


# -- open_image: what is refused ----------------------------------------------
def test_a_50000_pixel_square_png_is_refused_from_its_header() -> None:
    # Given 100 bytes claiming 50,000 x 50,000 pixels (2.5 billion).
    data = png_claiming(50_000, 50_000)
    assert len(data) < 100

    with pytest.raises(ImageTooLarge, match="too many pixels"):
        open_image(data)


def test_a_header_over_the_callers_limit_is_refused_before_decoding() -> None:
    # Given a header over the limit whose pixel data is broken: reading it
    # fails with ImageDamaged (the control below), so ImageTooLarge proves
    # the size was checked before any pixel data was looked at.
    data = png_claiming(8000, 8000)

    with pytest.raises(ImageTooLarge, match=r"8000 x 8000 pixels \(64,000,000\)"):
        open_image(data, max_pixels=1_000_000)
    with pytest.raises(ImageDamaged):
        open_image(data, max_pixels=64_000_000)


def test_between_pillows_warning_and_error_the_limit_still_refuses() -> None:
    # 100 MP is over Pillow's MAX_IMAGE_PIXELS (89 MP, a warning) and under
    # twice it (an error): refused whether warnings are errors or not.
    data = png_claiming(10_000, 10_000)

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(ImageTooLarge, match="too many pixels"):
            open_image(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(ImageTooLarge, match="10000 x 10000"):
            open_image(data)


@pytest.fixture(params=[False, True], ids=["pillow-strict", "pillow-lenient"])
def truncated_images_flag(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both states of Pillow's process-wide LOAD_TRUNCATED_IMAGES: off by
    default, on in any process that imported WeasyPrint."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", request.param)


@pytest.mark.parametrize("format", ALLOWED_FORMATS)
@pytest.mark.usefixtures("truncated_images_flag")
def test_a_truncated_file_is_refused(format: str) -> None:
    # Given the first two thirds of an image (an interrupted upload).
    whole = image_bytes(noise((200, 200)), format)

    with pytest.raises(ImageDamaged, match=f"{format} image is truncated or damaged"):
        open_image(whole[: len(whole) * 2 // 3])


@pytest.mark.usefixtures("truncated_images_flag")
def test_a_png_with_a_corrupted_chunk_is_refused() -> None:
    # Given a PNG with one bit flipped in its pixel data (the CRC no longer matches).
    data = bytearray(image_bytes(noise((64, 64)), "PNG"))
    data[len(data) // 2] ^= 0x01

    with pytest.raises(ImageDamaged, match="PNG image is truncated or damaged"):
        open_image(bytes(data))


def progressive_jpeg() -> bytes:
    """A progressive JPEG: several scans, with tables between them."""
    return image_bytes(noise((64, 64)), "JPEG", progressive=True)


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda data, table: data[: table + 2], id="after-a-marker"),
        pytest.param(lambda data, table: data[: table + 10], id="inside-a-segment"),
        pytest.param(lambda data, table: data[:-2], id="no-end-marker"),
    ],
)
@pytest.mark.usefixtures("truncated_images_flag")
def test_a_jpeg_cut_anywhere_after_its_header_is_refused(
    cut: Callable[[bytes, int], bytes],
) -> None:
    data = progressive_jpeg()
    table = data.index(b"\xff\xc4", data.index(b"\xff\xda"))  # after scan 1

    with pytest.raises(ImageDamaged, match="JPEG image is truncated or damaged"):
        open_image(cut(data, table))


@pytest.mark.usefixtures("truncated_images_flag")
def test_a_jpeg_with_garbage_between_segments_is_refused() -> None:
    # Given the second scan's marker overwritten, where a marker must follow
    # the table before it.
    data = bytearray(progressive_jpeg())
    second_scan = data.index(b"\xff\xda", data.index(b"\xff\xda") + 2)
    data[second_scan] = 0x00

    with pytest.raises(ImageDamaged, match="JPEG image is truncated or damaged"):
        open_image(bytes(data))


def test_fill_bytes_before_a_marker_are_allowed() -> None:
    data = progressive_jpeg()
    second_scan = data.index(b"\xff\xda", data.index(b"\xff\xda") + 2)

    image = open_image(data[:second_scan] + b"\xff\xff" + data[second_scan:])

    assert image.size == (64, 64)


@pytest.mark.usefixtures("truncated_images_flag")
def test_a_png_cut_before_its_end_chunk_is_refused() -> None:
    data = image_bytes(noise((32, 32)), "PNG")
    assert data.endswith(chunk(b"IEND", b""))

    with pytest.raises(ImageDamaged, match="PNG image is truncated or damaged"):
        open_image(data[:-12])


def test_a_whole_png_with_undecodable_pixels_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every chunk whole and its CRC right, but the pixel data is not zlib:
    # Pillow's decoder refuses it (in its default, strict mode).
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)
    header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"not pixel data")
        + chunk(b"IEND", b"")
    )

    with pytest.raises(ImageDamaged, match="PNG image is truncated or damaged"):
        open_image(data)


def test_a_jpeg_with_restart_markers_and_a_trailer_is_complete() -> None:
    # Restart markers inside the scan, and bytes after the end marker (as
    # some cameras append), are part of a whole JPEG.
    data = image_bytes(noise((64, 64)), "JPEG", restart_marker_blocks=1)
    assert b"\xff\xd0" in data

    image = open_image(data + b"camera trailer \xff\xda")

    assert image.size == (64, 64)


def test_a_jpeg_with_a_second_picture_opens_as_its_first() -> None:
    # Given an MPF file (a phone's photo plus a depth or gain map picture).
    photo, depth = halves((40, 20), RED, BLUE), Image.new("RGB", (10, 5), WHITE)
    output = io.BytesIO()
    photo.save(output, "MPO", save_all=True, append_images=[depth])
    assert Image.open(io.BytesIO(output.getvalue())).format == "MPO"

    image = open_image(output.getvalue())

    assert image.size == (40, 20)
    assert close_to(pixel(image, (5, 10)), RED)


def test_a_png_with_a_broken_header_is_damaged_not_unsupported() -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40

    with pytest.raises(ImageDamaged, match="PNG image is damaged"):
        open_image(data)


@pytest.mark.parametrize(
    ("data", "detected", "message"),
    [
        (b"Patient name,Result\nA,12\n", None, "not an image we can read"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF", "a PDF file"),
        (image_bytes(Image.new("RGB", (4, 4)), "BMP"), "BMP", "a BMP file"),
        (image_bytes(Image.new("RGB", (4, 4)), "TIFF"), "TIFF", "a TIFF file"),
        (image_bytes(Image.new("RGB", (4, 4)), "GIF"), "GIF", "a GIF file"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "HEIC", "a HEIC file"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "AVIF", "a AVIF file"),
    ],
    ids=["text", "pdf", "bmp", "tiff", "gif", "heic", "avif"],
)
def test_other_files_are_refused_naming_what_they_are(
    data: bytes, detected: str | None, message: str
) -> None:
    with pytest.raises(UnsupportedImage, match=message) as refused:
        open_image(data)

    assert refused.value.detected == detected
    assert "PNG, JPEG or WEBP" in str(refused.value)


def test_a_caller_may_narrow_the_formats() -> None:
    jpeg = image_bytes(Image.new("RGB", (4, 4)), "JPEG")

    with pytest.raises(UnsupportedImage, match="a JPEG file; upload it as PNG"):
        open_image(jpeg, formats=("png",))


def test_a_format_outside_the_allowed_ones_cannot_be_asked_for() -> None:
    with pytest.raises(ValueError, match="'GIF' is not a format for lab images"):
        open_image(b"GIF89a", formats=("PNG", "GIF"))


# -- metadata -----------------------------------------------------------------
@pytest.mark.parametrize("format", ALLOWED_FORMATS)
def test_gps_and_camera_exif_are_removed(format: str) -> None:
    # Given a phone photo with its position and camera in EXIF.
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (18.0, 31.0, 12.5), 3: "E", 4: (73.0, 51.0, 2.0)}
    photo = image_bytes(Image.new("RGB", (16, 16), RED), "JPEG", exif=exif)
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(GPS_IFD)

    output = convert(photo, format)

    reopened = Image.open(io.BytesIO(output))
    assert not reopened.getexif()
    assert "exif" not in reopened.info
    assert b"PhoneMaker" not in output


def test_encode_drops_metadata_from_an_image_that_did_not_come_from_open_image() -> (
    None
):
    image = Image.new("RGB", (8, 8), RED)
    image.info["icc_profile"] = swapped_red_and_blue_profile()
    image.info["comment"] = b"patient 4711"

    output = encode(image, "JPEG")

    reopened = Image.open(io.BytesIO(output))
    assert "icc_profile" not in reopened.info
    assert b"patient 4711" not in output
    assert image.info["comment"] == b"patient 4711"  # the caller's image is untouched


# -- conversion and transparency ----------------------------------------------
def transparent_signature() -> bytes:
    """An RGBA PNG: opaque red ink on the left, fully transparent on the right."""
    return image_bytes(halves((40, 20), (*RED, 255), (0, 0, 0, 0)), "PNG")


def test_rgba_png_to_jpeg_is_flattened_on_white() -> None:
    output = convert(transparent_signature(), "JPEG")

    reopened = Image.open(io.BytesIO(output))
    assert reopened.format == "JPEG"
    assert reopened.mode == "RGB"
    assert close_to(pixel(reopened, (35, 10)), WHITE)
    assert close_to(pixel(reopened, (5, 10)), RED)


@pytest.mark.parametrize("format", ["WEBP", "PNG"])
def test_rgba_keeps_its_alpha_in_webp_and_png(format: str) -> None:
    output = convert(transparent_signature(), format)

    reopened = Image.open(io.BytesIO(output))
    assert reopened.format == format
    assert reopened.mode == "RGBA"
    assert pixel(reopened, (35, 10))[3] == 0
    assert pixel(reopened, (5, 10))[3] == 255


@pytest.mark.parametrize(
    ("mode", "format", "reopened_mode"),
    [("L", "JPEG", "RGB"), ("LA", "PNG", "RGBA"), ("1", "WEBP", "RGB")],
)
def test_encode_takes_images_in_other_modes(
    mode: str, format: str, reopened_mode: str
) -> None:
    output = encode(Image.new(mode, (8, 8)), format)

    assert Image.open(io.BytesIO(output)).mode == reopened_mode


def test_jpg_is_another_name_for_jpeg() -> None:
    output = encode(Image.new("RGB", (4, 4)), "jpg")

    assert Image.open(io.BytesIO(output)).format == "JPEG"


def test_encode_refuses_an_unknown_format_and_a_quality_out_of_range() -> None:
    image = Image.new("RGB", (4, 4))

    with pytest.raises(ValueError, match="'BMP' is not a format"):
        encode(image, "BMP")
    with pytest.raises(ValueError, match="quality=0 is not between 1 and 100"):
        encode(image, "JPEG", quality=0)


def test_quality_changes_the_size_of_a_lossy_encoding() -> None:
    image = noise((120, 120))

    assert len(encode(image, "WEBP", quality=30)) < len(encode(image, "WEBP"))


# -- sizes --------------------------------------------------------------------
def test_thumbnail_fits_the_box_keeping_the_aspect_ratio() -> None:
    image = Image.new("RGB", (4000, 3000))

    small = thumbnail(image, max_width_px=600, max_height_px=600)

    assert small.size == (600, 450)
    assert image.size == (4000, 3000)


def test_thumbnail_never_enlarges() -> None:
    image = Image.new("RGB", (100, 50))

    assert thumbnail(image, max_width_px=600, max_height_px=600).size == (100, 50)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"width_px": 200}, (200, 100)),
        ({"height_px": 25}, (50, 25)),
        ({"width_px": 30, "height_px": 90}, (30, 90)),
        ({"width_px": 1000}, (1000, 500)),
    ],
)
def test_resize(arguments: dict[str, int], expected: tuple[int, int]) -> None:
    assert resize(Image.new("RGB", (100, 50)), **arguments).size == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda image: resize(image), "Give width_px, height_px or both"),
        (lambda image: resize(image, width_px=0), "width_px=0 must be a positive"),
        (
            lambda image: thumbnail(image, max_width_px=10, max_height_px=-1),
            "max_height_px=-1 must be a positive",
        ),
    ],
)
def test_sizes_must_be_positive(
    call: Callable[[Image.Image], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        call(Image.new("RGB", (100, 50)))


# -- compress_to_size ---------------------------------------------------------
@pytest.mark.parametrize("format", ["JPEG", "WEBP"])
def test_compress_lowers_the_quality_first(format: str) -> None:
    # Given a photo whose default-quality encoding is too big by a little.
    image = halves((400, 300), RED, BLUE)
    image.paste(noise((100, 100)), (150, 100))
    target = len(encode(image, format)) * 3 // 4

    output = compress_to_size(image, max_bytes=target, format=format)

    assert len(output) <= target
    assert Image.open(io.BytesIO(output)).size == (400, 300)


def test_compress_scales_down_when_the_lowest_quality_is_still_too_big() -> None:
    image = noise((600, 400))
    target = len(encode(image, "JPEG", quality=40)) // 3

    output = compress_to_size(image, max_bytes=target)

    assert len(output) <= target
    width, height = Image.open(io.BytesIO(output)).size
    assert width < 600
    assert abs(width / height - 1.5) < 0.02


def test_compress_png_only_scales() -> None:
    image = noise((300, 300))
    target = len(encode(image, "PNG")) // 2

    output = compress_to_size(image, max_bytes=target, format="PNG")

    reopened = Image.open(io.BytesIO(output))
    assert len(output) <= target
    assert reopened.format == "PNG"
    assert reopened.size[0] < 300


def test_compress_says_when_the_size_cannot_be_reached() -> None:
    with pytest.raises(ImageCannotFit, match="cannot be made smaller than 100 bytes"):
        compress_to_size(noise((200, 200)), max_bytes=100)


def test_compress_keeps_the_smallest_side_above_the_minimum() -> None:
    # Just past the minimum side, a target too small for it is refused rather
    # than shrinking the picture to a few pixels.
    with pytest.raises(ImageCannotFit, match=f"{MIN_SIDE_PX} pixels"):
        compress_to_size(noise((MIN_SIDE_PX + 4, 400)), max_bytes=200, format="PNG")


# -- data URIs ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("format", "mime"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")],
)
def test_data_uri_holds_the_encoded_image(format: str, mime: str) -> None:
    uri = to_data_uri(Image.new("RGB", (12, 8), RED), format)

    prefix = f"data:{mime};base64,"
    assert uri.startswith(prefix)
    decoded = Image.open(io.BytesIO(base64.b64decode(uri[len(prefix) :])))
    assert decoded.format == format
    assert decoded.size == (12, 8)
