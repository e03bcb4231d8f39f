"""Listing and reading RAPID jobs through fsspec (the in-memory filesystem: a real fsspec filesystem)."""

from __future__ import annotations

import io

import fsspec
import numpy as np
import pytest

from rapid_croissant.errors import ConfigError, JobError
from rapid_croissant.io import remote


@pytest.fixture
def store():
    fs = fsspec.filesystem("memory")
    root = "/rc-test-store"
    files = {
        "jid2/diffimage_masked.fits": b"a" * 10,
        "jid2/diffimage_masked_psfcat.txt": b"b",
        "jid2/notes.log": b"not an input",
        "jid2/old/diffimage_masked.fits": b"a stray copy",
        "jid10/bkg_subbed_science_image.fits": b"c" * 3,
        "jid_backup_old/diffimage_masked.fits": b"x",
        "calibration/diffimage_masked.fits": b"x",
        "jid_list.txt": b"jid2\n",
    }
    for name, data in files.items():
        fs.pipe(f"{root}/{name}", data)
    yield fs, root
    fs.rm(root, recursive=True)


def test_jobs_are_jid_prefixes_in_number_order(store):
    fs, root = store
    jobs = remote.list_jobs(fs, root, "memory://" + root)
    assert [j.rsplit("/", 1)[-1] for j in jobs] == ["jid2", "jid10"]


def test_only_build_inputs_directly_under_the_job_are_listed(store):
    fs, root = store
    objects = remote.list_objects(fs, f"{root}/jid2")
    assert [(o.name, o.size) for o in objects] == [
        ("diffimage_masked.fits", 10),
        ("diffimage_masked_psfcat.txt", 1),
    ]
    assert remote.build_input("Roman_TDS_index_H158_26926_11.txt")
    assert not remote.build_input("notes.log") and not remote.build_input("../diffimage_masked.fits")
    # RAPID's negative catalogs are read when present (opposite-sign distance, --include-fading)
    assert remote.build_input("sfftdiffimage_masked_psfcat_finder_negative.txt")
    assert remote.build_input("zogy_diffimage_masked_psfcat_negative.txt")


def test_fetch_checks_the_size_and_names_the_object(store, tmp_path):
    fs, root = store
    (obj, _) = remote.list_objects(fs, f"{root}/jid2")
    assert remote.fetch_object(fs, f"{root}/jid2", obj, tmp_path).read_bytes() == b"a" * 10
    fs.pipe(f"{root}/jid2/diffimage_masked.fits", b"short")  # changed after it was listed
    with pytest.raises(
        JobError, match=r"^jid2/diffimage_masked.fits: read 5 bytes of an object listed with 10"
    ):
        remote.fetch_object(fs, f"{root}/jid2", obj, tmp_path)
    fs.rm(f"{root}/jid2/diffimage_masked.fits")
    with pytest.raises(JobError, match=r"^jid2/diffimage_masked.fits: cannot read the object: not found"):
        remote.fetch_object(fs, f"{root}/jid2", obj, tmp_path)


def test_listing_a_missing_location_is_one_clear_line():
    fs, root = remote.filesystem("memory://rc-test-nowhere")
    with pytest.raises(ConfigError, match=r"^cannot list memory://rc-test-nowhere: not found"):
        remote.list_jobs(fs, root, "memory://rc-test-nowhere")
    with pytest.raises(ConfigError, match=r"^nosuchproto://x: cannot open this location"):
        remote.filesystem("nosuchproto://x")


def _fits_bytes(n_cards: int, data_bytes: int) -> bytes:
    """A primary HDU whose header has ``n_cards`` COMMENT cards (so more than one block) and its data."""
    from astropy.io import fits

    hdu = fits.PrimaryHDU(np.zeros(data_bytes // 4, dtype=np.float32))
    hdu.header["FILTER"] = "H158"
    for k in range(n_cards):
        hdu.header.add_comment(f"card {k}")
    buf = io.BytesIO()
    hdu.writeto(buf)
    return buf.getvalue()


SCIENCE = "Roman_TDS_simple_model_H158_17453_6_lite_inject_reformatted.fits"


def test_the_science_image_is_copied_up_to_its_header_end(store, tmp_path):
    """A build reads the science image's header only: its header blocks are copied, and astropy reads the
    same header (and data offset) from the copy as from the whole object."""
    from astropy.io import fits

    fs, root = store
    whole = _fits_bytes(60, 400_000)  # 66 cards: 2 header blocks
    fs.pipe(f"{root}/jid2/{SCIENCE}", whole)
    obj = next(o for o in remote.list_objects(fs, f"{root}/jid2") if o.name == SCIENCE)
    assert remote.header_only(obj) and obj.size == len(whole)
    copy = remote.fetch_object(fs, f"{root}/jid2", obj, tmp_path)
    assert copy.stat().st_size == 2 * remote.FITS_BLOCK
    with open(copy, "rb") as a, io.BytesIO(whole) as b:
        assert fits.Header.fromfile(a) == fits.Header.fromfile(b) and a.tell() == b.tell()
    assert not remote.header_only(remote.RemoteObject("diffimage_masked.fits", 10, ""))


def test_a_science_object_without_an_end_card_is_copied_whole(store, tmp_path):
    fs, root = store
    body = b"SIMPLE  =                    T" + b" " * 50 + b"X" * 70_000  # no END card anywhere
    fs.pipe(f"{root}/jid2/{SCIENCE}", body)
    obj = next(o for o in remote.list_objects(fs, f"{root}/jid2") if o.name == SCIENCE)
    assert remote.fetch_object(fs, f"{root}/jid2", obj, tmp_path).read_bytes() == body
    fs.pipe(f"{root}/jid2/{SCIENCE}", body[:50_000])  # shorter than listed
    with pytest.raises(JobError, match=rf"^jid2/{SCIENCE}: read 50000 bytes of an object listed with 70080"):
        remote.fetch_object(fs, f"{root}/jid2", obj, tmp_path)


def test_s3_objects_are_read_as_one_stream_unless_the_options_say_otherwise():
    pytest.importorskip("s3fs")
    fs, _ = remote.filesystem("s3://rapid-product-files/x/", {"endpoint_url": "http://127.0.0.1:9"})
    assert fs.max_concurrency == 1
    fs, _ = remote.filesystem("s3://rapid-product-files/x/", {"max_concurrency": 8, "anon": True})
    assert fs.max_concurrency == 8
