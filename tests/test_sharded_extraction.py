"""`extract` under torchrun: two CPU processes (gloo) each encode a disjoint shard into one
shared cache, and the cache then holds exactly the entries a single-process extraction
writes (the features read back are identical)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mma_studio.core.sharded_extraction import RankInfo, extract_sharded, shard_of
from tests.image_factory import make_class_dataset

MODEL = ["--model", "mma-tiny", "--pretrained", "random:0", "--device", "cpu"]


def test_shards_are_disjoint_cover_every_file_and_ignore_the_given_order():
    paths = [Path(f"/d/{c}/{i}.png") for c in "abc" for i in range(7)]
    shards = [shard_of(paths, rank, 3) for rank in range(3)]
    assert sorted(p for s in shards for p in s) == sorted(paths)
    assert not set(shards[0]) & set(shards[1]) and not set(shards[1]) & set(shards[2])
    assert shard_of(list(reversed(paths)) + paths[:3], 1, 3) == shards[1]


def test_rank_info_comes_from_torchruns_variables():
    assert RankInfo.from_env({}) == RankInfo(0, 1, 0)
    assert RankInfo.from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == RankInfo(3, 4, 1)
    with pytest.raises(ValueError, match="WORLD_SIZE"):
        RankInfo.from_env({"RANK": "4", "WORLD_SIZE": "4"})


def _cli(args: list[str], tmp_path: Path, launcher: list[str]) -> subprocess.CompletedProcess:
    # HOME and TMPDIR in tmp_path: torchrun's agent keeps its logs in a temporary folder.
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmp_path / "tmp"),
    }
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, *launcher, "-m", "mma_studio", "extract", *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )


def test_two_gloo_ranks_fill_the_cache_as_one_process_does(tmp_path):
    data = tmp_path / "data"
    make_class_dataset(data, [f"class {i}" for i in range(3)], per_class=5)
    (data / "class 1" / "broken.png").write_bytes(b"not an image")

    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    two = _cli([str(data), *MODEL, "--cache-dir", str(tmp_path / "two"), "--json", "-q"], tmp_path, launcher)
    assert two.returncode == 0, two.stderr[-3000:]
    report = json.loads(two.stdout.strip().splitlines()[-1])
    assert report["world_size"] == 2 and report["backend"] == "gloo"
    assert [r["rank"] for r in report["ranks"]] == [0, 1] and all(r["files"] == 8 for r in report["ranks"])
    assert report["encoded"] == 15 and [f["path"] for f in report["failed"]] == [str(data / "class 1" / "broken.png")]

    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.dataset import scan_dataset
    from mma_studio.core.feature_cache import FeatureCache

    backbone = load_backbone("mma-tiny", "random:0", device="cpu")
    paths = [p for folder in scan_dataset(data, validate=False).classes for p in folder.images]
    one = extract_sharded(paths, model="mma-tiny", pretrained="random:0", device="cpu", cache_root=tmp_path / "one")
    assert one.world_size == 1 and one.encoded == 15 and one.backend is None
    sharded = FeatureCache(tmp_path / "two").get_many(backbone, paths)
    single = FeatureCache(tmp_path / "one").get_many(backbone, paths)
    assert len(single) == 15 and sorted(sharded) == sorted(single)
    for index, row in single.items():
        assert torch.equal(sharded[index], row), paths[index]
    shard_files = list((tmp_path / "two").glob("img-*/shard-*.safetensors"))
    assert len(shard_files) == 2  # one per rank: each wrote its own file

    again = extract_sharded(paths, model="mma-tiny", pretrained="random:0", device="cpu", cache_root=tmp_path / "two")
    assert again.encoded == 0 and again.from_cache == 15  # a later run on one machine reads what the ranks wrote


def test_extract_datasets_all_encodes_the_protocol_images_of_the_datasets_found(tmp_path, capsys):
    from mma_studio.cli import main
    from mma_studio.core.protocols.protocol_images import protocol_image_paths
    from tests.coop_layouts import write_layout

    write_layout(tmp_path / "data", "DTD", ["banded", "blotchy", "braided"], counts=(3, 2, 1))
    argv = [
        "extract",
        str(tmp_path / "data"),
        "--datasets",
        "all",
        "--seeds",
        "1",
        "--shots",
        "1",
        *MODEL,
        "--cache-dir",
        str(tmp_path / "cache"),
        "--json",
        "-q",
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    expected, _ = protocol_image_paths(tmp_path / "data", ["DTD"], [1], 1)
    assert json.loads(captured.out.strip().splitlines()[-1])["encoded"] == len(expected) == 2 * 1 + 2 * 1 + 3
    assert "ImageNet skipped, missing" in captured.err
