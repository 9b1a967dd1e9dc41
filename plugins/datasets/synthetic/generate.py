"""Generate a synthetic dataset on disk, once, atomically, in parallel.

Layout (the same kind of files a recorded dataset ships; nothing is read
back except through these files)::

    <root>/
      dataset.json                 settings, generator version, recording list
      subjects.csv                 per-subject traits (tone, resting HR, ...)
      s01/still/video.avi          MJPG AVI, 30 fps nominal
      s02/still/video.mp4          H.264 MP4 instead, for a long recording (settings.long_recordings)
      s01/still/bvp.csv            time_s,bvp   (reference pulse, 60 Hz)
      s01/still/timestamps.csv     frame,time_s (actual capture times)
      s01/still/info.json          scenario, skin tone, labels, geometry
      ...

Why atomic: generation takes minutes; an interrupted run must never leave
a directory that a later run trusts.  Everything is written into a hidden
temporary sibling and renamed into place at the end (``os.rename`` of a
directory is atomic on POSIX).  A lock file serialises concurrent
generators of the same dataset; stale temporary directories of the same
name (from a killed run) are removed under the lock.

Why a process pool over subjects: frames are rendered in Python + OpenCV at
a few milliseconds each, single-threaded (``cv2.setNumThreads(1)`` in the
workers), so generation scales with cores; grouping a subject's recordings
in one task computes its re-coloured, warped face layers once.  The
``spawn`` start method keeps workers independent of whatever threads the
parent (e.g. torch) has started.  Output does not depend on the number of
workers (every recording has its own seed), nor on the machine: rendering
runs OpenCV without CPU-specific code paths (:func:`.render.deterministic_opencv`)
and keeps BLAS out of its arithmetic, so a dataset rendered anywhere on
x86-64 with the pinned packages has the same bytes
(:func:`.render.recording_fingerprint` checks it).

Where it lives: ``<cache>/datasets/...`` with the cache root of
:func:`hrbench.fsutil.cache_dir`, so ``--cache`` (``set_cache_root``) moves it.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import fcntl
import io
import json
import logging
import multiprocessing as mp
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hrbench.api import (
    HrbenchError,
    as_completed,
    cache_dir,
    deferred_termination,
    stop_pool,
    worker_initializer,
)

from .population import RecordingPlan, Subject, plan_recordings, sample_subjects
from .settings import GENERATOR_VERSION, SyntheticSettings

log = logging.getLogger(__name__)

MANIFEST = "dataset.json"
SUBJECTS = "subjects.csv"
SUBJECT_FIELDS = ("subject", "skin_tone", "resting_hr", "perfusion", "motion_habit", "resp_rate", "base_photo",
                  "mirrored")


@dataclass(frozen=True)
class GenerationStats:
    """How long a generation took: wall time, rendering CPU time, per recording (wall, CPU) seconds."""

    wall_s: float
    cpu_s: float
    recordings: dict[str, tuple[float, float]]


def dataset_dir(name: str, settings: SyntheticSettings) -> Path:
    """Cache location of a generated dataset: ``<cache>/datasets/<name>-<settings hash>``."""
    return cache_dir() / "datasets" / f"{name}-{settings.digest()}"


def is_complete(root: Path) -> bool:
    return (Path(root) / MANIFEST).is_file()


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def _render_subject(
    settings: SyntheticSettings, plans: list[RecordingPlan], out: str
) -> list[tuple[str, float, float]]:
    """Render one subject's recordings; (id, wall seconds, CPU seconds) each."""
    from . import render

    timings = []
    for plan in plans:
        t0, c0 = time.perf_counter(), time.process_time()
        render.render_recording(plan, settings, Path(out) / plan.subject.id / plan.scenario)
        timings.append((plan.id, time.perf_counter() - t0, time.process_time() - c0))
    return timings


def _subjects_csv(subjects: list[Subject]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SUBJECT_FIELDS)
    for s in subjects:
        w.writerow([s.id, s.tone, f"{s.resting_hr:.2f}", f"{s.perfusion:.3f}", f"{s.motion_habit:.3f}",
                    f"{s.resp_rate:.2f}", s.look.photo, int(s.look.mirror)])
    return buf.getvalue()


def _default_workers(n_tasks: int) -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, n_tasks))


def generate(
    settings: SyntheticSettings,
    root: Path,
    *,
    name: str = "synthetic",
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationStats | None:
    """Generate the dataset into ``root`` unless a complete copy is there.

    Returns timings, or None when a complete copy was already there.
    """
    root = Path(root)
    if is_complete(root):
        return None
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if is_complete(root):
                return None
            if root.exists() and any(root.iterdir()):
                raise HrbenchError(f"exists but is not a complete generated {name} dataset (no {MANIFEST}); "
                                   "remove it or choose another --data-root", root)
            for stale in root.parent.glob(f".{root.name}.tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
            try:
                stats = _generate_into(settings, tmp, name, workers, progress)
                tmp.chmod(0o755)  # mkdtemp creates it private
                if root.exists():
                    root.rmdir()  # empty (checked above)
                os.rename(tmp, root)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return stats


def _render_subjects(
    settings: SyntheticSettings, tasks: list[list[RecordingPlan]], out: Path, n_workers: int,
    collect: Callable[[list[tuple[str, float, float]]], None],
) -> None:
    """Render every subject's recordings, in this process or in ``n_workers`` spawned ones."""
    if n_workers == 1:
        import cv2

        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            for task in tasks:
                collect(_render_subject(settings, task, str(out)))
        finally:
            cv2.setNumThreads(threads)
        return
    ctx = mp.get_context("spawn")
    # Workers die with this process (kill -9 included) and are terminated, not waited for,
    # when generation is interrupted: see hrbench.run.executor.
    pool = cf.ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=worker_initializer,
                                  initargs=(os.getpid(), _init_worker, ()))
    futures: list[cf.Future] = []
    try:
        with deferred_termination() as check:
            futures = [pool.submit(_render_subject, settings, task, str(out)) for task in tasks]
            for fut in as_completed(futures, check):
                collect(fut.result())
    except BaseException:
        stop_pool(pool, futures)
        raise
    pool.shutdown(wait=True)


def _generate_into(
    settings: SyntheticSettings, out: Path, name: str, workers: int | None,
    progress: Callable[[int, int], None] | None,
) -> GenerationStats:
    t_start = time.perf_counter()
    plans = plan_recordings(settings)
    subjects = sample_subjects(settings)
    by_subject: dict[str, list[RecordingPlan]] = {}
    for p in plans:
        by_subject.setdefault(p.subject.id, []).append(p)
    tasks = list(by_subject.values())
    n_workers = workers or _default_workers(len(tasks))
    log.info("generating %s: %d recordings with %d worker(s) into %s", name, len(plans), n_workers, out)
    timings: dict[str, tuple[float, float]] = {}
    cpu = 0.0
    done = 0

    def collect(result: list[tuple[str, float, float]]) -> None:
        nonlocal done, cpu
        for rid, wall, cpu_s in result:
            timings[rid] = (wall, cpu_s)
            cpu += cpu_s
        done += len(result)
        if progress is not None:
            progress(done, len(plans))

    _render_subjects(settings, tasks, out, n_workers, collect)
    (out / SUBJECTS).write_text(_subjects_csv(subjects))
    manifest = {
        "name": name,
        "generator_version": GENERATOR_VERSION,
        "settings": settings.to_dict(),
        "recordings": [{"id": p.id, "subject": p.subject.id, "scenario": p.scenario,
                        "path": f"{p.subject.id}/{p.scenario}"} for p in plans],
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    stats = GenerationStats(time.perf_counter() - t_start, cpu, timings)
    log.info("generated %s in %.1f s (%.1f CPU-s rendering)", name, stats.wall_s, stats.cpu_s)
    return stats
