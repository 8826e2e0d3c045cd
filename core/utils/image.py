"""Images people upload (lab logos, signatures, photos): opened safely, cleaned,
resized, compressed and converted between PNG, JPEG and WebP.

Every image enters through `open_image`, which

- accepts only PNG, JPEG and WebP: Pillow's other decoders (TIFF, EPS, ICO,
  PSD, ...) are attack surface a lab never needs;
- reads the header only and refuses more than `max_pixels` pixels before any
  pixel is decoded (a decompression bomb is a small file that claims a huge
  size). Pillow's own `Image.MAX_IMAGE_PIXELS` is process-wide and only warns
  below twice its value, so the limit is checked here, per call;
- refuses a truncated or damaged file: it walks the file's structure itself
  (PNG chunks and their CRCs up to IEND, JPEG segments up to EOI; libwebp
  checks a WebP file whole when it opens it) before decoding. Pillow's own
  check cannot be relied on: WeasyPrint switches
  `ImageFile.LOAD_TRUNCATED_IMAGES` on for the whole process when it is
  imported, and Pillow then fills a cut-off image with grey instead of
  failing. (A file whole in structure whose compressed pixels are corrupt
  is refused by Pillow's decoder only where that global is off.)
- turns the image upright from its EXIF orientation, converts its colours to
  sRGB when it carries an ICC profile, and drops all metadata (EXIF with GPS
  position and camera serial, XMP, text chunks, the profile itself): what is
  stored or printed is pixels only, in RGB, or RGBA when the image has
  transparency.

The other functions take that clean `PIL.Image.Image` and return a new one, or
the encoded bytes. Transparency is kept where the format allows it (PNG,
WebP); JPEG has none, so a transparent signature or logo is laid on white.

    image = open_image(uploaded_bytes)
    logo = thumbnail(image, max_width_px=600, max_height_px=200)
    src = to_data_uri(logo)  # "data:image/png;base64,..." for a PDF
    photo = compress_to_size(image, max_bytes=200_000, format="WEBP")
"""

import base64
import io
import re
import struct
import zlib
from collections.abc import Collection

from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

#: The formats a lab's images may come in and be converted to (Pillow names).
ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP")
#: Default pixel limit: above the largest phone cameras (48 MP), well below
#: what would exhaust a worker's memory once decoded (4 bytes per pixel).
DEFAULT_MAX_PIXELS = 50_000_000
#: Default quality of lossy encodings (Pillow's 0..100 scale).
DEFAULT_QUALITY = {"JPEG": 85, "WEBP": 80}
#: `compress_to_size` never goes below this quality: lower, text and edges
#: turn to mush; it scales the image down instead.
MIN_QUALITY = 40
#: Nor below this many pixels on the shorter side.
MIN_SIDE_PX = 32
#: Each downscaling step of `compress_to_size` keeps at most this fraction
#: of the width and height.
DOWNSCALE_STEP = 0.8

_MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: In a JPEG scan, 0xFF is followed by 0x00 (a stuffed data byte), 0xD0-0xD7
#: (a restart marker, still in the scan) or 0xFF (fill); anything else is the
#: next marker.
_JPEG_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")
_SRGB = ImageCms.createProfile("sRGB")
#: File signatures, to tell "a BMP" from "not an image" in error messages.
_SIGNATURES = (
    (_PNG_SIGNATURE, "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"BM", "BMP"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"%PDF", "PDF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
)


class ImageError(ValueError):
    """An image cannot be used. Base of the classes below; the message says
    what was wrong and what would be accepted, and never holds image data."""


class UnsupportedImage(ImageError):
    """Not an image, or an image in a format that is not allowed. `detected`
    names the format recognised from the file's first bytes (e.g. "BMP"),
    or is None when the bytes are not a known image format at all."""

    def __init__(self, message: str, detected: str | None) -> None:
        super().__init__(message)
        self.detected = detected


class ImageTooLarge(ImageError):
    """More pixels than the limit: refused before decoding."""


class ImageDamaged(ImageError):
    """A file of an allowed format that cannot be decoded: truncated (an
    interrupted upload) or corrupt."""


class ImageCannotFit(ImageError):
    """`compress_to_size` could not get under the size asked for, even at its
    lowest quality and smallest size."""


def open_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    formats: Collection[str] = ALLOWED_FORMATS,
) -> Image.Image:
    """Decode `data` into a clean, upright RGB or RGBA image.

    `formats` may narrow ALLOWED_FORMATS (e.g. `("PNG",)` for a signature).
    Raises UnsupportedImage, ImageTooLarge or ImageDamaged (all ImageError,
    a ValueError) with a message for the person who uploaded the file. Of an
    animated PNG or WebP, the first frame is kept.
    """
    allowed = tuple(_format_name(name) for name in formats)
    header = _open_header(data, allowed, max_pixels)
    width, height = header.size
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"The image is {width} x {height} pixels ({width * height:,}); "
            f"images up to {max_pixels:,} pixels are accepted. Scale it down "
            "and upload it again."
        )
    # A JPEG with a second picture (MPF: a phone's depth or HDR gain map)
    # opens as "MPO"; it is a JPEG file, and its first picture is the photo.
    kind = "JPEG" if header.format == "MPO" else str(header.format)
    damaged = ImageDamaged(
        f"The {kind} image is truncated or damaged and cannot be read; upload "
        "the original file again."
    )
    if not _COMPLETE[kind](data):
        raise damaged
    try:
        header.load()
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise damaged from error
    upright = ImageOps.exif_transpose(header)
    return _clean(_to_srgb(upright, header.info.get("icc_profile")))


def thumbnail(
    image: Image.Image, *, max_width_px: int, max_height_px: int
) -> Image.Image:
    """A copy of `image` scaled down to fit within the box, aspect ratio kept;
    never enlarged. Example: 4000 x 3000 in a 600 x 600 box gives 600 x 450."""
    _require_positive(max_width_px=max_width_px, max_height_px=max_height_px)
    copy = image.copy()
    copy.thumbnail((max_width_px, max_height_px), Image.Resampling.LANCZOS)
    return copy


def resize(
    image: Image.Image, *, width_px: int | None = None, height_px: int | None = None
) -> Image.Image:
    """A copy of `image` at the given size; with only one side given, the other
    follows the aspect ratio (rounded, at least 1 pixel). May enlarge."""
    width, height = image.size
    if width_px is None:
        if height_px is None:
            raise ValueError("Give width_px, height_px or both.")
        width_px = max(1, round(width * height_px / height))
    elif height_px is None:
        height_px = max(1, round(height * width_px / width))
    _require_positive(width_px=width_px, height_px=height_px)
    return image.resize((width_px, height_px), Image.Resampling.LANCZOS)


def encode(image: Image.Image, format: str, *, quality: int | None = None) -> bytes:
    """`image` as PNG, JPEG or WebP bytes, with no metadata.

    PNG and WebP keep transparency; JPEG lays a transparent image on white.
    `quality` (1..100) applies to JPEG and WebP; PNG is lossless and ignores it.
    """
    name = _format_name(format)
    image = _clean(image)
    if name == "JPEG" and image.mode == "RGBA":
        image = _flatten_on_white(image)
    options: dict[str, object] = {}
    if name in DEFAULT_QUALITY:
        quality = DEFAULT_QUALITY[name] if quality is None else quality
        if not 1 <= quality <= 100:
            raise ValueError(f"quality={quality} is not between 1 and 100.")
        options["quality"] = quality
    if name == "JPEG":
        options["optimize"] = True
    output = io.BytesIO()
    image.save(output, format=name, **options)
    return output.getvalue()


def convert(data: bytes, format: str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """Uploaded `data` (PNG, JPEG or WebP) re-encoded as `format`: opened
    safely, upright, sRGB, without metadata. See `open_image` and `encode`."""
    return encode(open_image(data, max_pixels=max_pixels), format)


def compress_to_size(
    image: Image.Image, *, max_bytes: int, format: str = "JPEG"
) -> bytes:
    """`image` encoded as `format` in at most `max_bytes` bytes.

    JPEG and WebP: the highest quality (from the default down to MIN_QUALITY)
    that fits, found by bisection; when even MIN_QUALITY is too big, the image
    is scaled down (aspect ratio kept) and searched again. PNG is lossless, so
    only scaling applies. Raises ImageCannotFit when the shorter side would go
    below MIN_SIDE_PX.

    Example: a 4000 x 3000 photo to `max_bytes=200_000` typically gives a
    full-size JPEG at quality ~60, or a smaller one if the photo is busy.
    """
    name = _format_name(format)
    _require_positive(max_bytes=max_bytes)
    candidate = _clean(image)
    while True:
        encoded = _best_quality_within(candidate, name, max_bytes)
        if encoded is not None:
            return encoded
        width, height = candidate.size
        smallest = encode(candidate, name, quality=MIN_QUALITY)
        # Encoded size grows roughly with the pixel count: aim for the ratio,
        # but always shrink by at least one step.
        scale = min(DOWNSCALE_STEP, (max_bytes / len(smallest)) ** 0.5)
        new_size = (round(width * scale), round(height * scale))
        if min(new_size) < MIN_SIDE_PX:
            raise ImageCannotFit(
                f"The image cannot be made smaller than {max_bytes:,} bytes as "
                f"{name}, even at quality {MIN_QUALITY} and {MIN_SIDE_PX} pixels "
                "on its shorter side; allow more bytes or use another format."
            )
        candidate = candidate.resize(new_size, Image.Resampling.LANCZOS)


def to_data_uri(image: Image.Image, format: str = "PNG") -> str:
    """`image` as a data URI, for embedding in HTML and PDFs without a file.

    Example: `to_data_uri(logo)` -> "data:image/png;base64,iVBORw0KGgo..."
    """
    name = _format_name(format)
    payload = base64.b64encode(encode(image, name)).decode("ascii")
    return f"data:{_MIME_TYPES[name]};base64,{payload}"


def _format_name(format: str) -> str:
    """The Pillow name of an allowed format ("jpg" -> "JPEG"); ValueError else."""
    name = format.upper()
    name = "JPEG" if name == "JPG" else name
    if name not in ALLOWED_FORMATS:
        raise ValueError(
            f"{format!r} is not a format for lab images; use one of "
            f"{', '.join(ALLOWED_FORMATS)}."
        )
    return name


def _open_header(
    data: bytes, allowed: tuple[str, ...], max_pixels: int
) -> ImageFile.ImageFile:
    """Image.open (which reads the header only), with its errors translated."""
    try:
        return Image.open(io.BytesIO(data), formats=allowed)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's own process-wide check, run by Image.open: an error above
        # twice Image.MAX_IMAGE_PIXELS, a warning above it (an exception only
        # where warnings are errors; otherwise the caller's check refuses).
        raise ImageTooLarge(
            "The image has too many pixels to be opened safely (the limit is "
            f"{max_pixels:,}). Scale it down and upload it again."
        ) from error
    except UnidentifiedImageError as error:
        detected = _sniff(data)
        if detected in allowed:
            raise ImageDamaged(
                f"The {detected} image is damaged and cannot be read; upload "
                "the original file again."
            ) from error
        what = f"a {detected} file" if detected else "not an image we can read"
        raise UnsupportedImage(
            f"The file is {what}; upload it as {_one_of(allowed)}.",
            detected=detected,
        ) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        # A decoder that reads the whole file to open it (WebP) fails here.
        raise ImageDamaged(
            f"The {_sniff(data)} image is truncated or damaged and cannot be "
            "read; upload the original file again."
        ) from error


def _sniff(data: bytes) -> str | None:
    """The format named by the file's first bytes, if it is a known one."""
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"avif"):
        return "HEIC" if data[8:12] != b"avif" else "AVIF"
    return None


def _png_complete(data: bytes) -> bool:
    """Every chunk whole, with a matching CRC, up to IEND."""
    offset = len(_PNG_SIGNATURE)
    while offset + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        end = offset + 12 + length
        if end > len(data):
            return False
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[offset + 4 : end - 4]) != crc:
            return False
        if kind == b"IEND":
            return True
        offset = end
    return False


def _jpeg_complete(data: bytes) -> bool:
    """The main image's marker segments, each whole, up to its EOI marker
    (bytes after it, such as a second MPF picture, are not looked at)."""
    offset = 2  # after SOI
    while offset + 2 <= len(data):
        if data[offset] != 0xFF:
            return False
        marker = data[offset + 1]
        if marker == 0xD9:  # EOI
            return True
        if marker == 0xFF:  # fill byte before a marker
            offset += 1
            continue
        if offset + 4 > len(data):
            return False
        offset += 2 + int.from_bytes(data[offset + 2 : offset + 4], "big")
        if marker == 0xDA:  # start of scan: entropy-coded data up to a marker
            found = _JPEG_MARKER.search(data, offset)
            if found is None:
                return False
            offset = found.start()
    return False


def _webp_complete(data: bytes) -> bool:
    """Always true here: libwebp refuses a truncated file when Image.open
    parses it (see `_open_header`)."""
    return True


_COMPLETE = {"PNG": _png_complete, "JPEG": _jpeg_complete, "WEBP": _webp_complete}


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """`image` in RGB or RGBA; colours converted from its ICC profile to sRGB
    when it has one that lcms can read (else the values are taken as sRGB)."""
    target = "RGBA" if _has_alpha(image) else "RGB"
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # Pillow clips 16-bit grey to 8 bits (all white); scale it instead.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if icc_profile:
        source = (
            image
            if image.mode in ("RGB", "RGBA", "CMYK", "L")
            else image.convert(target)
        )
        try:
            converted = ImageCms.profileToProfile(
                source,
                ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)),
                _SRGB,
                outputMode=target,
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None  # unreadable or mismatched: keep the values as they are
        if converted is not None:
            return converted
    return image if image.mode == target else image.convert(target)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        "transparency" in image.info
    )


def _clean(image: Image.Image) -> Image.Image:
    """`image` in RGB or RGBA with no metadata (a new image when it had any)."""
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    if image.info:
        image = image.copy()
        image.info = {}
    return image


def _flatten_on_white(image: Image.Image) -> Image.Image:
    background = Image.new("RGB", image.size, "white")
    background.paste(image, mask=image.getchannel("A"))
    return background


def _best_quality_within(image: Image.Image, name: str, max_bytes: int) -> bytes | None:
    """The encoding at the highest quality that fits in `max_bytes`, or None."""
    if name not in DEFAULT_QUALITY:
        encoded = encode(image, name)
        return encoded if len(encoded) <= max_bytes else None
    low, high = MIN_QUALITY, DEFAULT_QUALITY[name]
    best = None
    while low <= high:
        quality = (low + high) // 2
        encoded = encode(image, name, quality=quality)
        if len(encoded) <= max_bytes:
            best, low = encoded, quality + 1
        else:
            high = quality - 1
    return best


def _one_of(names: tuple[str, ...]) -> str:
    """("PNG", "JPEG", "WEBP") -> "PNG, JPEG or WEBP"."""
    return " or ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


def _require_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ValueError(f"{name}={value} must be a positive whole number.")
