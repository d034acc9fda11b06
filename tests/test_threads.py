"""The CPU budget against cgroup files the function is pointed at and the real affinity mask."""
import math
import os

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from course_lib.threads import blas_threads, busy_cpus, cgroup_cpu_quota, cpu_budget, training_threads

AFFINITY = len(os.sched_getaffinity(0))


def _cgroup_tree(tmp_path, version, quota, *, path="/user.slice/kernel-7", on_parent=False):
    """A cgroup root folder holding one quota file, and a /proc/self/cgroup naming ``path``."""
    root = tmp_path / "cgroup"
    proc = tmp_path / "proc_self_cgroup"
    where = "/".join(path.split("/")[:-1]) if on_parent else path
    if version == 2:
        folder = root / where.lstrip("/")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cpu.max").write_text(quota + "\n")
        proc.write_text(f"0::{path}\n")
    else:
        folder = root / "cpu,cpuacct" / where.lstrip("/")
        folder.mkdir(parents=True, exist_ok=True)
        q, period = quota.split()
        (folder / "cpu.cfs_quota_us").write_text(q + "\n")
        (folder / "cpu.cfs_period_us").write_text(period + "\n")
        proc.write_text(f"12:memory:{path}\n4:cpu,cpuacct:{path}\n0::/\n")
    return root, proc


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("on_parent", [False, True])
def test_a_fractional_quota_rounds_up_and_caps_the_affinity(tmp_path, version, on_parent):
    root, proc = _cgroup_tree(tmp_path, version, "150000 100000", on_parent=on_parent)
    quota, source = cgroup_cpu_quota(root, proc)
    assert quota == pytest.approx(1.5) and source.startswith(str(root))
    budget = cpu_budget(root, proc)
    assert budget.affinity == AFFINITY and budget.quota == pytest.approx(1.5)
    assert budget.cpus == min(AFFINITY, 2)
    assert "quota 1.5" in budget.describe() and f"{AFFINITY} CPU" in budget.describe()


@pytest.mark.parametrize("version, unlimited", [(2, "max 100000"), (1, "-1 100000")])
def test_no_quota_leaves_the_affinity(tmp_path, version, unlimited):
    root, proc = _cgroup_tree(tmp_path, version, unlimited)
    budget = cpu_budget(root, proc)
    assert budget.quota is None and budget.cpus == AFFINITY
    assert "no cgroup CPU quota" in budget.describe()


def test_a_quota_below_one_cpu_still_gives_one_thread(tmp_path):
    root, proc = _cgroup_tree(tmp_path, 2, "20000 100000")
    assert cpu_budget(root, proc).cpus == 1


def test_a_missing_cgroup_tree_means_no_quota(tmp_path):
    assert cgroup_cpu_quota(tmp_path / "nowhere", tmp_path / "no_proc_file") == (None, None)
    assert cpu_budget(tmp_path / "nowhere", tmp_path / "no_proc_file").cpus == AFFINITY


def test_the_real_budget_never_exceeds_the_real_affinity():
    budget = cpu_budget()
    assert 1 <= budget.cpus <= AFFINITY
    if budget.quota is not None:
        assert budget.cpus <= max(1, math.ceil(budget.quota))


def test_busy_cpus_reads_the_runnable_count(tmp_path):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("3.10 2.00 1.50 3/250 4242\n")
    assert busy_cpus(loadavg, samples=3, interval=0) == 2  # 3 runnable, one of them this process
    loadavg.write_text("0.00 0.00 0.00 1/90 17\n")
    assert busy_cpus(loadavg, samples=1) == 0
    assert busy_cpus(tmp_path / "absent") == 0


def test_training_threads_subtract_busy_cpus_but_keep_one(tmp_path):
    root, proc = _cgroup_tree(tmp_path, 2, "max 100000")
    loadavg = tmp_path / "loadavg"
    loadavg.write_text(f"9.0 9.0 9.0 {AFFINITY + 5}/300 1\n")
    choice = training_threads(root, proc, loadavg)
    assert choice.threads == 1 and "busy with other processes" in choice.reason
    loadavg.write_text("0.1 0.1 0.1 1/300 1\n")
    assert training_threads(root, proc, loadavg).threads == AFFINITY


def _blas_threads_now():
    return max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")


def test_blas_threads_limits_inside_the_block_only():
    before = _blas_threads_now()
    with blas_threads(1) as choice:
        assert choice.threads == 1 and _blas_threads_now() == 1
        np.ones((64, 64)) @ np.ones((64, 64))
    assert _blas_threads_now() == before
    with blas_threads(before + 5) as choice:  # never more than the pool already has
        assert choice.threads == before and _blas_threads_now() == before
    with blas_threads(None) as choice:
        assert choice is None
    with pytest.raises(ValueError, match="threads"):
        with blas_threads(0):
            pass


def test_auto_with_a_one_thread_blas_pool_does_not_sample_the_load(monkeypatch):
    """A grading kernel runs with OPENBLAS_NUM_THREADS=1 and trains many small models: with one
    thread there is nothing to size, so "auto" must not spend 16 ms sampling /proc/loadavg."""
    import course_lib.threads as threads_module
    from threadpoolctl import threadpool_limits

    def sampled(*args, **kwargs):
        raise AssertionError("the load was sampled")

    monkeypatch.setattr(threads_module, "busy_cpus", sampled)
    with threadpool_limits(limits=1, user_api="blas"):
        with blas_threads("auto") as choice:
            assert choice.threads == 1 and "only 1 thread" in choice.reason
    if _blas_threads_now() > 1:  # with more threads "auto" still looks at the load
        with pytest.raises(AssertionError, match="sampled"):
            with blas_threads("auto"):
                pass
