"""Find official files in a sources folder, downloading the missing ones.

Downloads use plain ``urllib`` with a timeout, retries with exponential back-off on network
errors, timeouts, HTTP 429 and 5xx, and write through a ``.part`` file that is renamed into
place only when complete, so an interrupted download never leaves a half file behind.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import io
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nocfit.sources.catalog import (
    SOURCES,
    SourceSpec,
    base_urls,
    ckan_package_url,
    official_url,
)

USER_AGENT = "nocfit (+https://github.com/nocfit/nocfit)"
OFFLINE_HINT = (
    "nocfit looks offline. Put the official files in a folder (layout as in the README) "
    "and point NOCFIT_SOURCES at it, e.g. NOCFIT_SOURCES=../shared/data uv run nocfit refresh"
)


#: How a damaged or cut-short file in nocfit's own download cache is replaced.
REDOWNLOAD_HINT = "`nocfit refresh --download` fetches it again"


class SourceError(RuntimeError):
    """A source file could not be found or downloaded; the message says what to do."""


@dataclass
class FetchedSource:
    spec: SourceSpec
    path: Path
    url: str | None
    downloaded: bool

    def sha256(self) -> str:
        return file_sha256(self.path)

    @property
    def bytes(self) -> int:
        return self.path.stat().st_size


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Retryable(Exception):
    pass


def _check_not_a_page(url: str, body: bytes, suffix: str) -> None:
    """Refuse a web page (an error or login page answered with 200) for a CSV or JSON file: it
    is not the file, and asking again will not make it one. The full parse happens at ingest;
    this keeps a good cached copy from being replaced by such a page."""
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if suffix in {".csv", ".json"} and head[:1] == b"<":
        raise SourceError(f"{url} sent a web page or XML, not a {suffix} file: {head[:60]!r}")


def _looks_cut_off(body: bytes, suffix: str) -> str | None:
    """Why a body looks cut off in transfer, or None: JSON that does not parse, a CSV row with
    fewer or more fields than the header, a quote never closed. Chunked and HTTP/1.0 answers
    carry no Content-Length to tell a transfer that stopped early; a CSV cut exactly at a line
    break passes here and is caught by the published row counts at ingest."""
    if suffix == ".json":
        try:
            json.loads(body)
        except ValueError as exc:
            return f"the .json file does not parse (cut off?): {exc}"
    elif suffix == ".csv":
        rows = csv.reader(io.StringIO(body.decode("utf-8-sig", errors="replace"), newline=""), strict=True)
        try:
            width = len(next(rows, []))
            for row in rows:
                if row and len(row) != width:
                    return f"the .csv file was cut off or damaged: row {rows.line_num} has {len(row)} fields, the header {width}"
        except csv.Error as exc:  # strict: a quote still open at the end
            return f"the .csv file was cut off or damaged: {exc}"
    return None


@dataclass
class Downloader:
    """HTTP GET with timeout and retries; ``sleep`` is injectable so tests stay fast."""

    timeout: float = 60.0
    retries: int = 3
    backoff: float = 1.0
    log: Callable[[str], None] = print
    sleep: Callable[[float], None] = time.sleep

    def get_bytes(self, url: str) -> bytes:
        return self._with_retries(url, lambda response: response.read())

    def download(self, url: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")

        def stream(response) -> None:
            kind = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if kind == "text/html" and dest.suffix.lower() != ".html":
                # An error or login page answered with 200: no file of ours, and no reason to retry.
                raise SourceError(f"{url} sent a web page ({kind}), not the {dest.suffix} file")
            expected = response.headers.get("Content-Length")
            received = 0
            with part.open("wb") as out:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
                    received += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            if expected is not None and received != int(expected):
                raise _Retryable(f"connection closed after {received} of {expected} bytes")
            if received == 0:
                raise _Retryable("empty response")
            body, suffix = part.read_bytes(), dest.suffix.lower()
            _check_not_a_page(url, body, suffix)  # not the file: no retry
            if problem := _looks_cut_off(body, suffix):
                raise _Retryable(problem)  # cut off in transfer: the next attempt may be whole

        try:
            self._with_retries(url, stream)
            os.replace(part, dest)  # only a plausible file replaces the copy already here
        finally:
            part.unlink(missing_ok=True)

    def _with_retries(self, url: str, handle):
        attempts = self.retries + 1
        last: str = ""
        offline = False
        for attempt in range(1, attempts + 1):
            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return handle(response)
            except urllib.error.HTTPError as exc:
                if exc.code != 429 and exc.code < 500:
                    raise SourceError(f"{url} answered HTTP {exc.code} {exc.reason}") from exc
                last, offline = f"HTTP {exc.code} {exc.reason}", False
            except urllib.error.URLError as exc:
                reason = exc.reason
                # DNS failure, refused connection, no route...: offline. A timeout is not.
                offline = isinstance(reason, OSError) and not isinstance(reason, TimeoutError)
                last = f"{type(reason).__name__}: {reason}"
            except TimeoutError as exc:
                last, offline = f"timed out after {self.timeout:g}s ({exc})", False
            except (_Retryable, ConnectionError) as exc:
                last, offline = str(exc), False
            except http.client.HTTPException as exc:
                # IncompleteRead: a chunked answer that stopped early (no Content-Length to check).
                last, offline = f"{type(exc).__name__}: {exc}", False
            if attempt < attempts:
                delay = self.backoff * 2 ** (attempt - 1)
                self.log(f"download of {url} failed ({last}); retry {attempt}/{self.retries} in {delay:g}s")
                self.sleep(delay)
        message = f"could not download {url} after {attempts} attempts: {last}."
        if offline:
            message += " " + OFFLINE_HINT
        raise SourceError(message)


def _normalise_name(name: str) -> str:
    return name.lower().replace("-", "_")


@dataclass
class SourceFolder:
    """A folder of official files, optionally filled from the official URLs.

    ``is_cache`` marks nocfit's own download cache: only there are optional files downloaded
    and present files re-downloaded on ``refresh``; a folder the user points at is taken as is,
    apart from downloading required files that are missing from it. ``refresh`` is the default
    of :meth:`fetch` (scheduled refreshes re-download every required file into the cache).
    ``stale`` lists the files whose download failed while an older copy was there to use: the
    run goes on with that copy, and says so (a refresh must not look fresh when it is not).
    """

    folder: Path
    download: bool = True
    is_cache: bool = True
    refresh: bool = False
    downloader: Downloader = field(default_factory=Downloader)
    bases: dict[str, str] = field(default_factory=base_urls)
    _ckan_cache: dict[str, list[dict]] = field(default_factory=dict, init=False, repr=False)
    stale: list[str] = field(default_factory=list, init=False)

    def locate(self, source: SourceSpec) -> Path | None:
        """The file by its relative path, else anywhere in the folder by a published name."""
        direct = self.folder / source.relpath
        if direct.is_file():
            return direct
        if not self.folder.is_dir():
            return None
        wanted = {_normalise_name(n) for n in (source.name, *source.aliases)}
        for candidate in sorted(self.folder.rglob("*")):
            if candidate.is_file() and _normalise_name(candidate.name) in wanted:
                return candidate
        return None

    def fetch(self, source: SourceSpec, *, refresh: bool | None = None) -> FetchedSource:
        """Path of a required file, downloading it if missing (or stale, with ``refresh``)."""
        refresh = self.refresh if refresh is None else refresh
        found = self.locate(source)
        if found is not None and not (refresh and self.is_cache and source.downloadable):
            return FetchedSource(source, found, self.url_of(source), downloaded=False)
        if not (self.download and source.downloadable):
            if found is not None:
                return FetchedSource(source, found, self.url_of(source), downloaded=False)
            raise SourceError(
                f"{source.name} is not in the sources folder {self.folder} "
                f"(expected at {source.relpath})"
                + ("" if self.download else " and downloads are turned off (NOCFIT_OFFLINE)")
            )
        try:
            return self._download(source)
        except SourceError as exc:
            if found is not None:
                self.downloader.log(f"keeping the copy of {source.name} already here: {exc}")
                self.stale.append(f"{source.name} could not be downloaded, the older copy was used ({exc})")
                return FetchedSource(source, found, self.url_of(source), downloaded=False)
            raise

    def fetch_optional(self, source: SourceSpec) -> FetchedSource | None:
        """An optional file if present (or downloadable into the cache); None otherwise."""
        found = self.locate(source)
        if found is not None:
            return FetchedSource(source, found, self.url_of(source), downloaded=False)
        if not (self.is_cache and self.download and source.downloadable):
            return None
        try:
            return self._download(source)
        except SourceError as exc:
            self.downloader.log(f"optional source {source.name} not available: {exc}")
            return None

    def repair_hint(self) -> str:
        """What to do about a damaged file in this folder (appended to format errors)."""
        if self.is_cache:
            return f"; the file is nocfit's downloaded copy (a cut-off download?): {REDOWNLOAD_HINT}"
        return "; replace it with the official file (or point NOCFIT_SOURCES at a folder that has it)"

    def url_of(self, source: SourceSpec) -> str | None:
        direct = official_url(source, self.bases)
        if direct or not source.ckan_dataset:
            return direct
        return ckan_package_url(source.ckan_dataset, self.bases)

    def _download(self, source: SourceSpec) -> FetchedSource:
        url = official_url(source, self.bases) or self._ckan_resource_url(source)
        dest = self.folder / source.relpath
        if not os.access(self._existing_parent(dest), os.W_OK):
            raise SourceError(
                f"{source.name} is missing from {self.folder}, which is not writable, so it "
                "cannot be downloaded there; add the file or point NOCFIT_SOURCES elsewhere"
            )
        self.downloader.log(f"downloading {source.name} from {url}")
        self.downloader.download(url, dest)
        return FetchedSource(source, dest, url, downloaded=True)

    @staticmethod
    def _existing_parent(path: Path) -> Path:
        while not path.exists() and path != path.parent:
            path = path.parent
        return path

    def _ckan_resource_url(self, source: SourceSpec) -> str:
        dataset = source.ckan_dataset
        assert dataset is not None
        if dataset not in self._ckan_cache:
            api = ckan_package_url(dataset, self.bases)
            try:
                payload = json.loads(self.downloader.get_bytes(api))
            except json.JSONDecodeError as exc:
                raise SourceError(f"CKAN answer from {api} is not JSON: {exc}") from exc
            if not payload.get("success") or "resources" not in payload.get("result", {}):
                raise SourceError(f"CKAN answer from {api} has no dataset resources")
            self._ckan_cache[dataset] = payload["result"]["resources"]
        wanted = _normalise_name(source.name)
        for resource in self._ckan_cache[dataset]:
            url = str(resource.get("url") or "")
            if _normalise_name(url.rsplit("/", 1)[-1].split("?", 1)[0]) == wanted:
                return url
        raise SourceError(
            f"the OaSIS dataset {dataset} on open.canada.ca lists no resource named {source.name}"
        )


def default_source_folder(log: Callable[[str], None] = print) -> SourceFolder:
    """The folder from NOCFIT_SOURCES (or the cache), with NOCFIT_OFFLINE=1 disabling downloads
    and NOCFIT_DOWNLOAD_TIMEOUT / NOCFIT_DOWNLOAD_RETRIES setting the downloader."""
    from nocfit import config

    return SourceFolder(
        folder=config.sources_dir(),
        download=not config.offline(),
        is_cache=config.sources_dir_is_default(),
        downloader=Downloader(timeout=config.download_timeout(), retries=config.download_retries(), log=log),
    )


__all__ = ["SOURCES", "SourceError", "SourceFolder", "Downloader", "FetchedSource", "file_sha256"]
