"""The download path, exercised against a real HTTP server on 127.0.0.1 serving ../shared/data."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from nocfit.cli import EXIT_WARNINGS
from nocfit.sources.catalog import CKAN, IRCC, OASIS_DATASET_ID, SOURCES, STATCAN, spec
from nocfit.sources.fetch import Downloader, SourceError, SourceFolder
from pipelines.defs.common import SOURCES_FRESH_CHECK


class OfficialSite:
    """Serves the shared files under their official URL paths, plus a CKAN package_show API.

    ``faults[name]`` is a list of behaviours consumed one per request for that file name:
    "503", "404", "truncate" (Content-Length larger than the body), "chunked_cut" (a chunked
    answer that stops after its first chunk), "unsized_cut" (no Content-Length, body stops
    mid-row), "slow" (sleeps 2 s), "webpage" (an error page with status 200, as captive portals
    and CDNs send) or "garbled" (200, not the file).
    """

    def __init__(self, shared: Path) -> None:
        self.shared = shared
        self.faults: dict[str, list[str]] = {}
        self.hits: Counter[str] = Counter()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                # The client may give up first (the timeout tests do that on purpose).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    site.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OfficialSite:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bases(self) -> dict[str, str]:
        return {STATCAN: f"{self.base}/statcan", IRCC: f"{self.base}/ircc", CKAN: f"{self.base}/ckan"}

    def _file_for(self, path: str) -> Path | None:
        name = path.rsplit("/", 1)[-1].split("?")[0]
        for source in SOURCES:
            if source.name == name and (self.shared / source.relpath).is_file():
                return self.shared / source.relpath
        return None

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path
        if path.startswith("/ckan/api/3/action/package_show"):
            assert f"id={OASIS_DATASET_ID}" in path
            resources = [
                {
                    "name": s.description,
                    "format": "CSV",
                    "url": f"{self.base}/oasis/resource/{i}/download/{s.name}",
                }
                for i, s in enumerate(SOURCES)
                if s.ckan_dataset
            ]
            self.hits["package_show"] += 1
            self._send(
                request, 200, json.dumps({"success": True, "result": {"resources": resources}}).encode()
            )
            return
        file = self._file_for(path)
        name = path.rsplit("/", 1)[-1]
        self.hits[name] += 1
        if file is None:
            self._send(request, 404, b"not found")
            return
        fault = self.faults.get(name, []).pop(0) if self.faults.get(name) else None
        body = file.read_bytes()
        if fault in ("503", "404"):
            self._send(request, int(fault), b"busy" if fault == "503" else b"not found")
        elif fault == "chunked_cut":
            first = body[: len(body) // 2]
            request.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            request.wfile.write(b"%x\r\n%s\r\n" % (len(first), first))
            request.wfile.flush()
            request.close_connection = True  # no last chunk: the connection just ends
        elif fault == "unsized_cut":
            # HTTP/1.0 without Content-Length: the end of the connection is the end of the body,
            # so the client cannot tell a cut-off transfer from the whole file.
            request.send_response(200)
            request.end_headers()
            request.wfile.write(body[: len(body) * 2 // 3])
            request.close_connection = True
        elif fault == "slow":
            time.sleep(2)
            self._send(request, 200, body)
        elif fault == "webpage":
            page = b"<html><body>Service temporarily unavailable</body></html>"
            request.send_response(200)
            request.send_header("Content-Type", "text/html; charset=utf-8")
            request.send_header("Content-Length", str(len(page)))
            request.end_headers()
            request.wfile.write(page)
        elif fault == "garbled":
            self._send(request, 200, b"\n<!DOCTYPE html>" if name.endswith(".csv") else b'{"rounds": [')
        elif fault == "truncate":
            request.send_response(200)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body[: len(body) // 2])
            request.wfile.flush()
            request.close_connection = True
        else:
            self._send(request, 200, body)

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


@pytest.fixture
def site(shared_data: Path) -> Iterator[OfficialSite]:
    with OfficialSite(shared_data) as server:
        yield server


def folder_for(target: Path, site: OfficialSite, **downloader) -> tuple[SourceFolder, list[str]]:
    messages: list[str] = []
    options = {"timeout": 5.0, "retries": 2, "backoff": 0.0, "sleep": lambda s: None, **downloader}
    folder = SourceFolder(
        target,
        download=True,
        is_cache=True,
        downloader=Downloader(log=messages.append, **options),
        bases=site.bases(),
    )
    return folder, messages


def test_downloads_every_required_file_byte_for_byte(
    tmp_path: Path, site: OfficialSite, shared_data: Path
) -> None:
    folder, _ = folder_for(tmp_path / "cache", site)
    for source in SOURCES:
        if not source.required:
            continue
        fetched = folder.fetch(source)
        assert fetched.downloaded
        assert fetched.path == tmp_path / "cache" / source.relpath
        assert fetched.path.read_bytes() == (shared_data / source.relpath).read_bytes()
    # OaSIS files were found through the CKAN API, StatCan/IRCC ones at their official paths.
    assert site.hits["example-titles_oasis_2023_v1.0.csv"] == 1
    assert folder.url_of(spec("ircc_rounds")).endswith(
        "/ircc/content/dam/ircc/documents/json/ee_rounds_123_en.json"
    )
    assert not list((tmp_path / "cache").rglob("*.part"))
    # Present files are not downloaded again.
    again = folder.fetch(spec("noc_structure"))
    assert not again.downloaded and site.hits["noc-2021-v1.0-classification-structure.csv"] == 1


def test_optional_file_missing_upstream_is_not_an_error(tmp_path: Path, site: OfficialSite) -> None:
    folder, messages = folder_for(tmp_path / "cache", site)
    assert folder.fetch_optional(spec("noc_elements")) is None  # StatCan answers 404 here
    assert any("HTTP 404" in m for m in messages)
    assert folder.fetch_optional(spec("noc_examples_bilingual")) is None  # has no official URL


def test_retries_server_errors_then_succeeds(tmp_path: Path, site: OfficialSite) -> None:
    site.faults["ee_rounds_123_en.json"] = ["503", "503"]
    folder, messages = folder_for(tmp_path / "cache", site)
    fetched = folder.fetch(spec("ircc_rounds"))
    assert fetched.downloaded and site.hits["ee_rounds_123_en.json"] == 3
    assert sum("retry" in m for m in messages) == 2


def test_truncated_transfer_is_retried_and_never_left_behind(tmp_path: Path, site: OfficialSite) -> None:
    site.faults["noc2016v1_3-noc2021v1_0-eng.csv"] = ["truncate", "truncate", "truncate"]
    folder, _ = folder_for(tmp_path / "cache", site)
    with pytest.raises(SourceError, match="after 3 attempts"):
        folder.fetch(spec("noc_concordance"))
    assert not any((tmp_path / "cache").rglob("*.csv*"))


@pytest.mark.parametrize("fault", ["webpage", "garbled"])
@pytest.mark.parametrize("name", ["ee_rounds_123_en.json", "noc-2021-v1.0-classification-structure.csv"])
def test_a_body_that_is_not_the_file_never_replaces_the_cached_copy(
    tmp_path: Path, site: OfficialSite, shared_data: Path, name: str, fault: str
) -> None:
    source = next(s for s in SOURCES if s.name == name)
    folder, messages = folder_for(tmp_path / "cache", site)
    assert folder.fetch(source).downloaded  # a good copy in the cache
    site.faults[name] = [fault] * 3  # every attempt (a garbled JSON is retried: cut off?)
    again = folder.fetch(source, refresh=True)  # a scheduled re-download meets an error page
    assert not again.downloaded and again.path.read_bytes() == (shared_data / source.relpath).read_bytes()
    assert any("keeping the copy" in m for m in messages)
    assert len(folder.stale) == 1 and name in folder.stale[0]  # the run reports it (WARN check)
    assert not list((tmp_path / "cache").rglob("*.part"))


@pytest.mark.parametrize("fault", ["chunked_cut", "unsized_cut"])
def test_a_transfer_cut_off_without_content_length_never_replaces_the_cached_copy(
    tmp_path: Path, site: OfficialSite, shared_data: Path, fault: str
) -> None:
    """Chunked answers and HTTP/1.0 ones carry no Content-Length to check the size against: a
    cut chunked answer raised IncompleteRead past the retries (no URL named, no cached copy
    kept), and a cut HTTP/1.0 answer replaced the good copy with two thirds of the file."""
    name = "main-duties_oasis-2023_v1.0.csv"
    source = next(s for s in SOURCES if s.name == name)
    folder, messages = folder_for(tmp_path / "cache", site)
    assert folder.fetch(source).downloaded
    site.faults[name] = [fault] * 3  # every attempt (retries=2) is cut off
    again = folder.fetch(source, refresh=True)
    assert not again.downloaded and again.path.read_bytes() == (shared_data / source.relpath).read_bytes()
    assert site.hits[name] == 4
    assert len(folder.stale) == 1 and "/download/" + name in folder.stale[0]  # the URL is named
    reason = "IncompleteRead" if fault == "chunked_cut" else "cut off"
    assert reason in folder.stale[0], folder.stale
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_a_cut_off_transfer_is_retried_until_whole(
    tmp_path: Path, site: OfficialSite, shared_data: Path
) -> None:
    name = "main-duties_oasis-2023_v1.0.csv"
    site.faults[name] = ["chunked_cut"]
    folder, messages = folder_for(tmp_path / "cache", site)
    fetched = folder.fetch(spec("oasis_main_duties"))
    assert (
        fetched.downloaded and fetched.path.read_bytes() == (shared_data / fetched.spec.relpath).read_bytes()
    )
    assert any("IncompleteRead" in m and "retry 1/2" in m for m in messages)
    assert not folder.stale


def test_download_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from nocfit.sources.fetch import default_source_folder

    monkeypatch.setenv("NOCFIT_DOWNLOAD_TIMEOUT", "2m")
    monkeypatch.setenv("NOCFIT_DOWNLOAD_RETRIES", "0")
    monkeypatch.setenv("NOCFIT_OFFLINE", "on")
    folder = default_source_folder()
    assert (folder.downloader.timeout, folder.downloader.retries, folder.download) == (120.0, 0, False)


def test_timeout_is_retried(tmp_path: Path, site: OfficialSite) -> None:
    site.faults["ee_rounds_123_en.json"] = ["slow"]
    folder, messages = folder_for(tmp_path / "cache", site, timeout=0.5)
    assert folder.fetch(spec("ircc_rounds")).downloaded
    assert any("timed out" in m for m in messages)


def test_offline_gives_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = f"http://127.0.0.1:{port}"
    folder = SourceFolder(
        tmp_path / "cache",
        downloader=Downloader(timeout=1, retries=1, backoff=0, sleep=lambda s: None, log=lambda m: None),
        bases={STATCAN: dead, IRCC: dead, CKAN: dead},
    )
    with pytest.raises(SourceError) as error:
        folder.fetch(spec("noc_structure"))
    assert "offline" in str(error.value) and "NOCFIT_SOURCES" in str(error.value)


def test_user_folder_gets_missing_required_files_but_never_optional_ones(
    tmp_path: Path, site: OfficialSite
) -> None:
    mine = tmp_path / "mine"
    folder = SourceFolder(mine, is_cache=False, bases=site.bases(), downloader=Downloader(log=lambda m: None))
    assert folder.fetch_optional(spec("noc_elements")) is None
    assert site.hits["noc-2021-v1.0-elements.csv"] == 0  # not even asked for
    assert folder.fetch(spec("ircc_rounds")).path == mine / "ircc" / "ee_rounds_123_en.json"
    # A user folder is never re-downloaded on refresh: the operator owns its contents.
    assert not folder.fetch(spec("ircc_rounds"), refresh=True).downloaded
    assert site.hits["ee_rounds_123_en.json"] == 1


def test_files_are_found_by_published_name_anywhere_in_the_folder(tmp_path: Path, shared_data: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    original = shared_data / spec("noc_structure").relpath
    (flat / "noc_2021_version_1.0_-_classification_structure.csv").write_bytes(original.read_bytes())
    folder = SourceFolder(flat, download=False, is_cache=False)
    assert (
        folder.fetch(spec("noc_structure")).path.name == "noc_2021_version_1.0_-_classification_structure.csv"
    )
    with pytest.raises(SourceError, match="downloads are turned off"):
        folder.fetch(spec("ircc_rounds"))


def test_refresh_downloads_into_the_cache_through_the_cli(
    tmp_path: Path,
    site: OfficialSite,
    monkeypatch: pytest.MonkeyPatch,
    shared_data: Path,
    refreshed: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`nocfit refresh` with no NOCFIT_SOURCES fills the cache from the (local) official URLs."""
    import shutil

    from nocfit.cli import main
    from tests.conftest import nocfit_env

    env = nocfit_env(tmp_path, shared_data)
    # The session's model, and the derived 'All examples' titles it was trained with (a file
    # with no official URL, which a user adds to the cache by hand): the downloaded data are the
    # session's, so the model is up to date and the test spends no minute retraining it.
    shutil.copytree(refreshed["NOCFIT_MODELS"], env["NOCFIT_MODELS"])
    bilingual = spec("noc_examples_bilingual").relpath
    (tmp_path / "data" / "sources" / bilingual).parent.mkdir(parents=True)
    shutil.copyfile(shared_data / bilingual, tmp_path / "data" / "sources" / bilingual)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("NOCFIT_SOURCES")
    monkeypatch.delenv("NOCFIT_OFFLINE")
    for host, url in site.bases().items():
        monkeypatch.setenv(
            {STATCAN: "NOCFIT_STATCAN_URL", IRCC: "NOCFIT_IRCC_URL", CKAN: "NOCFIT_CKAN_URL"}[host], url
        )
    assert main(["refresh"]) == 0
    assert "same data and code: not retraining" in capsys.readouterr().err
    assert site.hits["package_show"] == 1  # one CKAN lookup serves every OaSIS file of the run
    cache = tmp_path / "data" / "sources"
    for source in SOURCES:
        if source.required:
            assert (cache / source.relpath).read_bytes() == (shared_data / source.relpath).read_bytes()

    # A scheduled re-download that fails keeps the cached copy, and says so: a WARNING line and
    # exit code 3 (it used to print one info line and finish "successfully", looking fresh).
    site.faults["ee_rounds_123_en.json"] = ["404"]
    capsys.readouterr()
    assert main(["refresh", "--download"]) == EXIT_WARNINGS
    out = capsys.readouterr().out
    assert "WARNING: ircc/rounds: ee_rounds_123_en.json could not be downloaded" in out, out
    assert "HTTP 404" in out and "published with 1 warning(s)" in out
    with duckdb.connect(env["NOCFIT_WAREHOUSE"], read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ircc.rounds").fetchone()[0] > 400
    # ... and Dagster records it as a failed WARN check of the table (yellow in the UI).
    from nocfit.runner import open_instance

    instance = open_instance()
    check = dg.AssetCheckKey(dg.AssetKey(["ircc", "rounds"]), SOURCES_FRESH_CHECK)
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key([check])[check]
    evaluation = latest.event.dagster_event.event_specific_data
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
