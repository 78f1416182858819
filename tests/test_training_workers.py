"""Trials several at once in worker processes (kerasdoc.training.workers), and the numeric-loss
experiment's --jobs."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from kerasdoc.experiments import numeric_loss as exp
from kerasdoc.experiments._common import Timer
from kerasdoc.training.workers import TrialWorkers, threads_per_worker, usable_cores

REPO = Path(__file__).resolve().parents[1]


def test_threads_are_the_cores_shared_out():
    assert threads_per_worker(1, cores=2) == 2
    assert threads_per_worker(2, cores=2) == 1
    assert threads_per_worker(3, cores=2) == 1  # never fewer than one
    assert threads_per_worker(4, cores=16) == 4
    assert threads_per_worker(1) == usable_cores() >= 1
    with pytest.raises(ValueError, match="jobs must be a positive integer. Received: jobs=0"):
        threads_per_worker(0)


def test_bad_worker_functions_are_refused_before_any_process_starts():
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        TrialWorkers(0)
    with pytest.raises(ValueError, match="named 'module:function'. Received: 'setup'"):
        TrialWorkers(1, "setup")
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        TrialWorkers(1, threads=0)


def test_workers_run_with_their_thread_counts_and_keep_the_calls_order():
    """Each worker's TensorFlow has the threads it was given (set before its runtime started),
    and the results come back in the order of the calls."""
    fn = "kerasdoc.training.workers:tensorflow_threads"
    with TrialWorkers(2, threads=1) as workers:
        assert list(workers.map(fn, [{}, {}, {}])) == [(1, 1)] * 3
        assert list(workers.map("os.path:join", [])) == []


def test_a_worker_that_dies_names_the_trial_it_was_running():
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))  # the aborted worker leaves no core file
    try:
        with TrialWorkers(1, threads=1) as workers, pytest.raises(
                RuntimeError, match="ended abruptly while running CNN baseline trial 1"):
            list(workers.map("os:abort", [{}], names=["CNN baseline trial 1"]))
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))


def test_timer_counts_the_cpu_of_child_processes_that_ended():
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass"
    with Timer() as t:
        subprocess.run([sys.executable, "-c", burn], check=True)
    assert t.cpu_seconds >= 0.4


def test_jobs_apply_only_to_cpu_runs_on_one_device(monkeypatch):
    from kerasdoc.training import workers

    monkeypatch.setattr(workers, "usable_cores", lambda: 4)
    one_cpu = SimpleNamespace(replicas=1)
    assert exp.trial_jobs(1, one_cpu, pending=6) == (1, "one at a time")
    jobs, how = exp.trial_jobs(2, one_cpu, pending=6)
    assert jobs == 2 and how.startswith("2 at a time in worker processes")
    assert exp.trial_jobs(4, one_cpu, pending=3)[0] == 3  # never more than the trials left
    # one trial left (a resumed run): this process trains it, and says so
    assert exp.trial_jobs(2, one_cpu, pending=1) == (1, "one at a time (one trial left to "
                                                        "train)")
    assert exp.trial_jobs(2, one_cpu, pending=0) == (1, "every trial already finished")
    jobs, how = exp.trial_jobs(2, SimpleNamespace(replicas=2), pending=6)
    assert jobs == 1 and "applies only to CPU-only runs on one device" in how
    # never more workers than cores: each holds its own TensorFlow (memory stays bounded)
    jobs, how = exp.trial_jobs(1000, one_cpu, pending=18)
    assert jobs == 4 and how.endswith("(--jobs 1000 capped at the 4 usable core(s))")
    monkeypatch.setattr(workers, "usable_cores", lambda: 1)
    assert exp.trial_jobs(2, one_cpu, pending=18) == (
        1, "one at a time (--jobs 2 capped at the 1 usable core(s))")
    with pytest.raises(ValueError, match="--jobs must be a positive integer. Received: --jobs 0"):
        exp.trial_jobs(0, one_cpu, pending=6)


def test_trials_in_two_workers_give_the_tables_of_one_at_a_time(tmp_path):
    """--jobs 2 (one TensorFlow thread per worker), as a user runs it, against --jobs 1 (this
    process, its default threads): the DNN and the LSTM sum in the same order with one thread
    as with two, so each trial's numbers are identical; the results are listed in the trials'
    order either way; the workers print none of TensorFlow's start-up lines."""
    argv = ["--quick", "--models", "dnn,rnn", "--trials", "2"]
    one = exp.main([*argv, "--jobs", "1", "--out", str(tmp_path / "one")])
    proc = subprocess.run([sys.executable, "-m", "kerasdoc", "reproduce", "numeric-loss", *argv,
                           "--jobs", "2", "--out", str(tmp_path / "two")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "trials: 2 at a time in worker processes, 1 TensorFlow thread(s) each" in proc.stdout
    assert proc.stderr == "", proc.stderr
    two = json.loads((tmp_path / "two" / "results.json").read_text())

    def per_trial(res):
        return [(r["model"], r["method"], t["seed"], t["error_rate"], t["numeric_error"],
                 t["numeric_error_mis"], t["histogram"]) for r in res["rows"]
                for t in r["per_trial"]]

    assert per_trial(one) == per_trial(two)
    assert [t[2] for t in per_trial(two)] == [0, 1] * 4
    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert config["jobs"] == 2 and config["trial_jobs"].startswith("2 at a time")
    assert two["unread_flags"] == []
    # the workers' CPU time is counted with the run's
    assert two["cpu_seconds"] > sum(t["train_cpu_seconds"] for r in two["rows"]
                                    for t in r["per_trial"])


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_of_a_killed_run_end_instead_of_waiting_as_orphans(tmp_path):
    """The run's process killed (SIGKILL: nothing of it runs on): its worker, still starting
    (here: asleep in its setup), ends by itself within seconds."""
    import signal
    import time

    script = ("import os, sys\nfrom kerasdoc.training.workers import TrialWorkers\n"
              "w = TrialWorkers(1, 'time:sleep', 120, threads=1)\n"
              "print(os.getpid(), flush=True)\n"
              "list(w.map('os:getpid', [{}]))\n")
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    parent = int(run.stdout.readline())
    children: list[int] = []
    for _ in range(100):  # the worker is spawned by the first call
        children = [int(c) for c in open(f"/proc/{parent}/task/{parent}/children").read().split()]
        workers = [c for c in children
                   if b"spawn_main" in open(f"/proc/{c}/cmdline", "rb").read()]
        if workers:
            break
        time.sleep(0.1)
    assert workers, f"no worker process started (children: {children})"
    os.kill(parent, signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 15
    while _alive(workers[0]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(workers[0]), "the orphaned worker is still running"


def test_leaving_on_an_exception_stops_the_running_trials_at_once():
    """Ctrl-C while trials run: the workers stop now (each trial resumes from its own backup
    next time) instead of the run waiting for whole trials; here the worker would still be
    busy for a minute (asleep in its setup)."""
    import time

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt), TrialWorkers(1, "time:sleep", 60, threads=1) as w:
        w.map("os:getpid", [{}, {}])  # submitted now: the worker starts
        time.sleep(1)
        raise KeyboardInterrupt
    assert time.monotonic() - start < 20
