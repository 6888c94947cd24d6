"""A class at once, measured at the server: N Streamlit websocket clients (the protocol the
browser speaks, without a browser's rendering) against the real server on localhost.

Each student opens "Feature maps" on their own MNIST test digit, then the next layer, then
"Grad-CAM" on their own CIFAR-10 test image, each by a link (the page's state in the query
string, as CNN Lab's links carry it). A request is timed from sending it until the server
says the script run finished: every element of the page has been computed and sent. Then the
same again while a teacher's session trains a net in the architecture lab on the worker. Reports
median and 95th percentile per step, errors, the server's peak memory, and both sides of sharing
the cores: the lab's seconds per epoch alone and while the class loads its pages (read off the
teacher's progress bar), at the worker's thread count (--train-threads, else the app's default).

    CNN_LAB_DATA=../shared/data python bench/ws_load.py [--sessions 30] [--stagger 0] [--train-threads N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e_server import streamlit_server  # noqa: E402

TIMEOUT = 300


class Session:
    """One browser tab, as the server sees it."""

    def __init__(self, url: str):
        self.http = url
        self.ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.elements: list = []
        self.errors: list[str] = []

    async def __aenter__(self) -> Session:
        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], origin=self.http,
                                           max_size=None, open_timeout=TIMEOUT, ping_interval=None)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    async def run(self, page: str, params: dict | None = None, widgets: list | None = None) -> float:
        """Rerun the script on `page` with `params` as the query string; seconds until the
        server finished the run. Exceptions shown on the page count as errors."""
        message = BackMsg()
        message.rerun_script.page_name = page
        message.rerun_script.query_string = urlencode(params or {})
        for widget in widgets or []:
            message.rerun_script.widget_states.widgets.append(widget)
        start = time.perf_counter()
        await self.ws.send(message.SerializeToString())
        self.elements = []
        while True:
            reply = ForwardMsg.FromString(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
            kind = reply.WhichOneof("type")
            if kind == "delta" and reply.delta.WhichOneof("type") == "new_element":
                element = reply.delta.new_element
                self.elements.append(element)
                if element.WhichOneof("type") == "exception":
                    self.errors.append(f"{page}: {element.exception.type}: {element.exception.message[:100]}")
            elif kind == "page_not_found":
                self.errors.append(f"{page}: page not found")
            elif kind == "script_finished":
                return time.perf_counter() - start

    def charts(self) -> int:
        return sum(1 for e in self.elements if e.WhichOneof("type") == "plotly_chart")

    def button_id(self, label: str) -> str | None:
        for element in self.elements:
            if element.WhichOneof("type") == "button" and element.button.label == label:
                return element.button.id
        return None


async def student(url: str, index: int, delay: float, results: dict) -> None:
    await asyncio.sleep(delay)
    try:
        async with Session(url) as session:
            maps = {"fm_dataset": "MNIST", "fm_source_mnist": "MNIST test image", "fm_mnist_index": index}
            results.setdefault("feature maps, own digit", []).append(await session.run("feature_maps", maps))
            if session.charts() < 3:
                session.errors.append(f"feature maps: only {session.charts()} charts")
            maps["fm_layer_mnist"] = 1
            results.setdefault("feature maps, next layer", []).append(await session.run("feature_maps", maps))
            cam = {"gc_dataset": "CIFAR-10", "gc_source_cifar10": "CIFAR-10 test image", "gc_cifar10_index": index}
            results.setdefault("Grad-CAM, own photo", []).append(await session.run("gradcam", cam))
            if session.charts() < 2:
                session.errors.append(f"Grad-CAM: only {session.charts()} charts")
            results.setdefault("errors", []).extend(session.errors)
    except Exception as error:   # a session that failed is a result too
        results.setdefault("errors", []).append(f"student {index}: {type(error).__name__}: {str(error)[:120]}")


TRAINING_EPOCHS = 10
TRAINING = ("lab", {"lab_epochs": TRAINING_EPOCHS})   # the GAP net on all of MNIST: minutes on a CPU


async def start_training(url: str) -> Session:
    """A teacher's session that clicks "Train" in the architecture lab and stays."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    session = await Session(url).__aenter__()
    await session.run(*TRAINING)
    button = session.button_id("Train")
    if button is None:
        raise RuntimeError("no Train button in the lab")
    await session.run(*TRAINING, [WidgetState(id=button, trigger_value=True)])
    return session


async def keep_alive(session: Session, stop: asyncio.Event, seen: list) -> None:
    """The teacher's page reruns now and then, as a teacher's open tab would, and we note its
    progress bar (None where there was none) and when: proof that the training really ran
    meanwhile, and how fast."""
    while not stop.is_set():
        await asyncio.sleep(2)
        try:
            await session.run(*TRAINING)
        except Exception:
            return
        bars = [e.progress.value for e in session.elements if e.WhichOneof("type") == "progress"]
        seen.append((time.perf_counter(), bars[0] if bars else None))


def seconds_per_epoch(seen: list) -> tuple[float, float] | None:
    """The lab's pace between the first and the last poll that showed its progress bar, and its
    uncertainty: the bar moves in whole percents of all TRAINING_EPOCHS epochs."""
    shown = [(t, value) for t, value in seen if value is not None]
    if len(shown) < 2 or shown[-1][1] <= shown[0][1]:
        return None
    (t0, v0), (t1, v1) = shown[0], shown[-1]
    pace = (t1 - t0) / (v1 - v0) * 100 / TRAINING_EPOCHS
    return pace, pace / (v1 - v0)


def training_report(seen: list) -> str:
    pace = seconds_per_epoch(seen)
    shown = sum(value is not None for _, value in seen)
    return (f"the teacher's progress bar was on {shown} of {len(seen)} polls; the lab trained at "
            + (f"{pace[0]:.1f} s per epoch (± {pace[1]:.1f} s)" if pace else "an unmeasured pace (too few polls)"))


async def stop_training(teacher: Session) -> None:
    """Press Stop: the next phase's teacher starts a fresh run rather than wait behind this one."""
    stop_button = teacher.button_id("Stop")
    if stop_button is not None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        await teacher.run(*TRAINING, [WidgetState(id=stop_button, trigger_value=True)])


async def teacher_alone(url: str, seconds: float) -> dict:
    """The lab training with no students about: its pace alone, to set against the pace under load."""
    teacher, stop, seen = await start_training(url), asyncio.Event(), []
    poller = asyncio.create_task(keep_alive(teacher, stop, seen))
    start = time.perf_counter()
    await asyncio.sleep(seconds)
    stop.set()
    await poller
    await stop_training(teacher)
    await teacher.__aexit__()
    return {"wall": time.perf_counter() - start, "training": training_report(seen)}


async def class_at_once(url: str, sessions: int, stagger: float, training: bool) -> dict:
    results: dict = {}
    teacher, stop, poller, seen = None, asyncio.Event(), None, []
    if training:
        teacher = await start_training(url)
        poller = asyncio.create_task(keep_alive(teacher, stop, seen))
        await asyncio.sleep(3)   # the job is running
        seen.clear()             # its pace counts from here, while the students load their pages
    start = time.perf_counter()
    await asyncio.gather(*(student(url, i, stagger * i / max(sessions, 1), results) for i in range(sessions)))
    results["wall"] = time.perf_counter() - start
    if teacher is not None:
        stop.set()
        await poller
        await stop_training(teacher)
        await teacher.__aexit__()
        results["training"] = training_report(seen)
    return results


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def report(title: str, results: dict) -> None:
    print(f"\n{title} (all done in {results.pop('wall'):.1f} s)")
    if "training" in results:
        print(f"  {results.pop('training')}")
    for label, times in results.items():
        if label == "errors":
            continue
        times = sorted(times)
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        print(f"  {label:28s} n={len(times):3d}  median {statistics.median(times):6.2f} s  p95 {p95:6.2f} s  "
              f"max {times[-1]:6.2f} s")
    errors = results.get("errors", [])
    print(f"  errors: {len(errors)}" + "".join(f"\n    {e}" for e in errors[:10]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--stagger", type=float, default=0.0,
                        help="spread the students' arrivals over this many seconds (0: all at once)")
    parser.add_argument("--train-threads", type=int, default=None,
                        help="the worker's torch threads (CNN_LAB_TRAIN_THREADS; default: the app's, all cores but one)")
    parser.add_argument("--alone", type=float, default=40,
                        help="seconds the teacher's lab trains with no students, for its pace alone")
    args = parser.parse_args()
    if args.train_threads:
        os.environ["CNN_LAB_TRAIN_THREADS"] = str(args.train_threads)
    from models.jobs import training_threads

    print(f"worker threads: {training_threads()} of {os.cpu_count()} cores")
    with streamlit_server() as server:
        asyncio.run(class_at_once(server.url, 1, 0, False))   # warm: first imports, model loads
        report("the teacher trains alone", asyncio.run(teacher_alone(server.url, args.alone)))
        report("one student alone", asyncio.run(class_at_once(server.url, 1, 0, False)))
        report(f"{args.sessions} students at once", asyncio.run(class_at_once(server.url, args.sessions,
                                                                               args.stagger, False)))
        report(f"{args.sessions} students while the teacher trains",
               asyncio.run(class_at_once(server.url, args.sessions, args.stagger, True)))
        if args.stagger == 0:
            spread = float(args.sessions)
            report(f"{args.sessions} students arriving over {spread:.0f} s",
                   asyncio.run(class_at_once(server.url, args.sessions, spread, False)))
            report(f"{args.sessions} students arriving over {spread:.0f} s while the teacher trains",
                   asyncio.run(class_at_once(server.url, args.sessions, spread, True)))
        print(f"\nserver peak memory: {peak_memory_mb(server.pid):.0f} MB")


if __name__ == "__main__":
    main()
