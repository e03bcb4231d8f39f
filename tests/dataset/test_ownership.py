"""The output folder is owned: marker, inventory, refusals, our temporaries only, one writer at a time."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from rapid_croissant.dataset import ownership
from rapid_croissant.dataset.ownership import OwnershipError


def test_refuses_the_input_tree_a_folder_containing_it_and_foreign_folders(tmp_path):
    inp = tmp_path / "raw"
    (inp / "jid1").mkdir(parents=True)
    (inp / "jid1" / "x.fits").write_bytes(b"1")
    with pytest.raises(OwnershipError, match="inside the input folder"):
        ownership.check_output(inp / "jid1" / "ds", inp)
    with pytest.raises(OwnershipError, match="inside the input folder"):
        ownership.check_output(inp / "ds", inp)
    with pytest.raises(OwnershipError, match="contains the input folder"):
        ownership.check_output(tmp_path, inp)
    mine = tmp_path / "my_thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("years of work")
    with pytest.raises(OwnershipError, match="not empty and not a rapid-croissant dataset .chapter1.tex"):
        ownership.check_output(mine, inp)
    ownership.check_output(tmp_path / "new", inp)  # a new folder is fine
    (tmp_path / "empty").mkdir()
    ownership.check_output(tmp_path / "empty", inp)  # so is an empty one


def test_symlinked_output_into_the_input_is_refused(tmp_path):
    inp = tmp_path / "raw"
    inp.mkdir()
    (tmp_path / "link").symlink_to(inp, target_is_directory=True)
    with pytest.raises(OwnershipError, match="inside the input folder"):
        ownership.check_output(tmp_path / "link" / "ds", inp)


def test_claim_writes_a_marker_and_inventory_is_what_we_wrote(tmp_path):
    root = ownership.claim_output(tmp_path / "ds")
    assert ownership.is_dataset(root) and ownership.inventory(root) == set()
    (root / "images").mkdir()
    (root / "images" / "jid1.npy").write_bytes(b"x")
    (root / "candidates.parquet").write_bytes(b"y")
    (root / "notes_of_the_user.txt").write_text("mine")  # at the root, but we never wrote it
    ownership.record_inventory(root, ["images/jid1.npy", "candidates.parquet"])
    assert ownership.inventory(root) == {"images/jid1.npy", "candidates.parquet"}
    gone = ownership.remove_owned(root, [root / "images/jid1.npy", root / "notes_of_the_user.txt"])
    assert gone == ["images/jid1.npy"]
    assert (root / "notes_of_the_user.txt").read_text() == "mine"
    ownership.check_output(root)  # our own non-empty dataset may be written again


def test_temporaries_are_cleaned_only_in_our_folders(tmp_path):
    root = ownership.claim_output(tmp_path / "ds")
    ours = [root / ".candidates.tmp123.parquet", root / "images" / ".jid1.tmp99.npy"]
    theirs = [root / "user_stuff" / ".draft.tmp1.txt", root / "images" / "sub" / ".x.tmp5.npy"]
    for p in ours + theirs:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"0")
    removed = ownership.clean_temporaries(root)
    assert sorted(removed) == [".candidates.tmp123.parquet", "images/.jid1.tmp99.npy"]
    assert all(p.exists() for p in theirs) and not any(p.exists() for p in ours)


def test_second_writer_is_refused_and_a_dead_holder_is_recovered(tmp_path):
    root = ownership.claim_output(tmp_path / "ds")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from rapid_croissant.dataset.ownership import dataset_lock\n"
            f"with dataset_lock({str(root)!r}):\n    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OwnershipError, match=f"another rapid-croissant command .* process {holder.pid}"):
            with ownership.dataset_lock(root):
                pass
    finally:
        holder.kill()  # SIGKILL: no clean-up runs in the holder
        holder.wait()
        holder.stdout.close()
    time.sleep(0.1)
    with ownership.dataset_lock(root):  # the kernel released the dead process's lock
        assert True


def test_marker_of_another_tool_is_not_ours(tmp_path):
    (tmp_path / ownership.MARKER).write_text(json.dumps({"tool": "something-else"}))
    (tmp_path / "data.bin").write_bytes(b"1")
    assert not ownership.is_dataset(tmp_path)
    with pytest.raises(OwnershipError):
        ownership.check_output(tmp_path)


def test_a_dataset_of_an_earlier_version_is_adopted(tmp_path):
    root = tmp_path / "old"
    (root / ".parts").mkdir(parents=True)
    (root / "build_info.json").write_text(json.dumps({"rapid_croissant_version": "0.1.0"}))
    (root / "candidates.parquet").write_bytes(b"x")
    ownership.claim_output(root)
    assert ownership.is_dataset(root)
    assert {"build_info.json", "candidates.parquet"} <= ownership.inventory(root)
