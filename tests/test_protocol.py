"""Protocols: folds are disjoint, complete, and subject-exclusive when asked."""

import functools
from pathlib import Path

import numpy as np
import pytest

from hrbench.clips.protocol import find_protocol, load_protocol
from hrbench.data.recording import FrameSource, Recording, Signal
from hrbench.errors import ConfigError


def _gt():
    return Signal("hr", np.array([70.0, 70.0]), 1.0)


def recordings(n_subjects=10, per_subject=(1, 5), seed=1):
    rng = np.random.default_rng(seed)
    recs = []
    for s in range(n_subjects):
        for v in range(rng.integers(*per_subject)):
            recs.append(
                Recording("x", f"s{s:02d}_v{v}", f"s{s:02d}", "t", 30.0,
                          FrameSource(Path("/nonexistent")), functools.partial(_gt))
            )
    return recs


@pytest.mark.parametrize("seed", range(5))
def test_subject_exclusive_folds_never_share_a_subject(seed):
    proto = find_protocol("subject_exclusive")
    recs = recordings(seed=seed)
    subj = {r.id: r.subject for r in recs}
    folds = proto.folds(recs)
    assert len(folds) == proto.k == 3
    tested = [rid for f in folds for rid in f.test]
    assert sorted(tested) == sorted(r.id for r in recs)  # every recording tested exactly once
    for f in folds:
        assert not {subj[i] for i in f.train} & {subj[i] for i in f.test}
        assert set(f.train) | set(f.test) == set(subj)


def test_random_folds_partition_recordings_and_depend_on_seed(tmp_path):
    proto = find_protocol("random")
    recs = recordings()
    folds = proto.folds(recs)
    assert sorted(i for f in folds for i in f.test) == sorted(r.id for r in recs)
    text = proto.path.read_text().replace("seed = 0", "seed = 1")
    other = tmp_path / "random_seed1.toml"
    other.write_text(text)
    p2 = load_protocol(other)
    assert p2.sha256 != proto.sha256
    assert [f.test for f in p2.folds(recs)] != [f.test for f in folds]
    assert [f.test for f in proto.folds(recs)] == [f.test for f in folds]  # deterministic


def test_official_folds_cover_every_recording():
    proto = find_protocol("vipl_hr_5fold")
    recs = recordings(n_subjects=10, per_subject=(2, 3))
    official = [[f"s{i:02d}", f"s{i + 5:02d}"] for i in range(5)]
    folds = proto.folds(recs, official)
    assert len(folds) == 5
    assert sorted(i for f in folds for i in f.test) == sorted(r.id for r in recs)
    with pytest.raises(ConfigError, match="no official fold"):
        proto.folds(recs, official[:4])


def test_too_few_subjects_is_a_clear_error():
    with pytest.raises(ConfigError, match="subjects cannot fill"):
        find_protocol("subject_exclusive").folds(recordings(n_subjects=2))


@pytest.mark.parametrize(
    "text, message",
    [
        ("scope = 'sideways'", "scope must be one of"),
        ("split = 'subject'\nk = 1", "k must be in 2..1000"),
        ("this is not toml", "invalid TOML"),
        ("colour = 'red'", "unknown key"),
        ("[clips]\nlength = 'long'", "must be int"),
    ],
)
def test_bad_protocol_files_fail_with_the_file_named(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_protocol(f)
    assert str(f) in str(err.value)


def test_unknown_protocol_lists_known_ones():
    with pytest.raises(ConfigError, match="subject_exclusive"):
        find_protocol("nope")
