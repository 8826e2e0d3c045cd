"""The only way a report reaches a resource: no network, files from the
project's static and media folders only.

WeasyPrint loads every stylesheet, @import, font, image, SVG and attachment
through its `url_fetcher`. `ReportURLFetcher` answers

- `data:` URIs (an embedded logo or signature), decoded in memory;
- `file:` URLs whose real path (symlinks and `..` resolved) lies under
  settings.STATIC_ROOT, a settings.STATICFILES_DIRS folder, an installed
  app's `static/` folder (where `{% static %}` files live before
  collectstatic) or settings.MEDIA_ROOT. A path under STATIC_ROOT that is not
  there (collectstatic not run, as in development) is looked up with the
  staticfiles finders, as `runserver` does.

and refuses everything else: http, https, ftp and any other scheme (no
request is made, so no redirect can be followed), a file elsewhere, a file
that does not exist. A refusal stops the rendering (`PdfResourceRefused`):
a report missing its logo or its stylesheet is wrong, so it fails loudly
rather than printing without them.
"""

import mimetypes
import os
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname

from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from weasyprint.urls import (  # type: ignore[import-untyped]
    FatalURLFetchingError,
    URLFetcher,
    URLFetcherResponse,
)

from core.utils.pdf.errors import PdfResourceRefused

#: What the refusal message says a report may load.
ALLOWED_DESCRIPTION = (
    "reports load only data: URIs and files under the static and media folders"
)


class ResourceStop(FatalURLFetchingError):
    """Raised inside WeasyPrint to stop the rendering (WeasyPrint catches
    every Exception a fetcher raises and only warns; this one is a
    BaseException it lets through). `error` is what the caller gets."""

    def __init__(self, error: PdfResourceRefused) -> None:
        super().__init__(str(error))
        self.error = error


class ReportURLFetcher(URLFetcher):
    """A WeasyPrint URL fetcher for reports; see the module docstring.

    The allowed folders are read from settings when the fetcher is made, so
    make one per document.
    """

    def __init__(self) -> None:
        super().__init__(
            allowed_protocols=("data",), allow_redirects=False, fail_on_errors=True
        )
        self.static_root = _folder(settings.STATIC_ROOT)
        self.roots = tuple(
            dict.fromkeys(
                root
                for folder in _allowed_folders()
                for root in (
                    Path(os.path.abspath(folder)),
                    Path(os.path.realpath(folder)),
                )
            )
        )

    def fetch(
        self, url: str, headers: dict[str, str] | None = None
    ) -> URLFetcherResponse:
        """The resource at `url`, or ResourceStop carrying PdfResourceRefused."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        shown = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))[:300]
        if scheme != "file":
            self._refuse(shown, f"{scheme} URL" if scheme else "relative URL")
        if parts.netloc not in ("", "localhost"):
            self._refuse(shown, "file URL on another host")
        path = self._real_path(shown, Path(os.path.normpath(url2pathname(parts.path))))
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            path.as_uri(), path.read_bytes(), {"Content-Type": content_type}
        )

    def _real_path(self, shown: str, requested: Path) -> Path:
        """The real path of an allowed, existing file; refuses any other."""
        if not self._inside(requested):
            self._refuse(shown, "file outside the static and media folders")
        if not requested.exists():
            requested = self._collected(requested) or requested
        real = Path(os.path.realpath(requested))
        if not self._inside(real):
            self._refuse(shown, "link to a file outside the static and media folders")
        if not real.is_file():
            raise ResourceStop(
                PdfResourceRefused(
                    f"The report needs {shown}, which does not exist under the "
                    "static and media folders (run collectstatic, or fix the path).",
                    url=shown,
                )
            )
        return real

    def _collected(self, requested: Path) -> Path | None:
        """Where the staticfiles finders find a STATIC_ROOT path not collected yet."""
        if self.static_root is None or not requested.is_relative_to(self.static_root):
            return None
        found = finders.find(requested.relative_to(self.static_root).as_posix())
        return Path(found) if isinstance(found, str) else None

    def _inside(self, path: Path) -> bool:
        return any(path.is_relative_to(root) for root in self.roots)

    def _refuse(self, shown: str, what: str) -> NoReturn:
        raise ResourceStop(
            PdfResourceRefused(
                f"The report asked for {shown}, a {what}; {ALLOWED_DESCRIPTION}.",
                url=shown,
            )
        )


def static_base_url() -> str:
    """The base URL relative paths in a report resolve against: STATIC_ROOT,
    as a file URL ending in "/" (so "core/pdf/report.css" is the static
    file of that name). Example: "file:///srv/lis/var/static/"."""
    root = _folder(settings.STATIC_ROOT)
    if root is None:
        raise ImproperlyConfigured(
            "settings.STATIC_ROOT must be set: relative URLs in PDF reports "
            "resolve against it."
        )
    return root.as_uri() + "/"


def _allowed_folders() -> Iterable[str | os.PathLike[str]]:
    """STATIC_ROOT, STATICFILES_DIRS, each app's static/ folder, MEDIA_ROOT."""
    for setting in (settings.STATIC_ROOT, settings.MEDIA_ROOT):
        if (folder := _folder(setting)) is not None:
            yield folder
    for entry in settings.STATICFILES_DIRS:
        # An entry is a folder or a (prefix, folder) pair.
        yield entry[1] if isinstance(entry, (tuple, list)) else entry
    for app_config in apps.get_app_configs():
        folder = Path(app_config.path) / "static"
        if folder.is_dir():
            yield folder


def _folder(value: object) -> Path | None:
    """A folder setting as an absolute Path; None when unset or empty (Django's default
    MEDIA_ROOT is "", which must not mean "the current directory")."""
    if value is None or str(value) == "":
        return None
    return Path(os.path.abspath(str(value)))
