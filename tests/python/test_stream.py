"""`chickenseg stream` end to end on the tiny model: the sample generator's animated barn
(`data sample --video`: chickens that walk, enter and leave, overlap; ducks, feeders and eggs as
negatives; encoded with the ffmpeg tool, or served over RTSP) is tracked frame for frame,
with every frame processed, one flushed JSONL line each, an overlay MP4 that ffprobe decodes,
key frames for `chickenseg mine`, and a SIGINT mid-run that still leaves a playable MP4 and a
complete JSONL file."""
import io
import json
import statistics
import signal
import subprocess
import time
import urllib.request

import pytest
from PIL import Image

from conftest import chickenseg_bin
from test_predict import forced_presence_package, tool

pytestmark = pytest.mark.model

FPS = 10


def ffprobe_frames(path):
    """(codec, decoded frame count) of the first video stream, as ffprobe decodes it."""
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                        "stream=codec_name,nb_read_frames", "-of", "json", str(path)],
                       capture_output=True, text=True, check=True)
    stream = json.loads(r.stdout)["streams"][0]
    return stream["codec_name"], int(stream["nb_read_frames"])


def barn_frames(root, frames, size="160x120"):
    """The sample generator's animated barn: its frames (root/barn/img1/000001.jpg ...) and
    ground truth (root/barn/video.json)."""
    tool("data", "sample", "--video", "--out", root / "barn", "--frames", frames, "--fps", FPS, "--size", size,
         "--seed", "5")
    return root / "barn" / "img1"


def barn_video(root, frames, size="160x120"):
    """The animated barn as an H.264 MP4, as a camera's recording would be."""
    img1 = barn_frames(root, frames, size)
    video = root / "barn.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-framerate", str(FPS), "-i", str(img1 / "%06d.jpg"),
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video)], check=True)
    assert ffprobe_frames(video)[1] == frames
    return video


@pytest.fixture(scope="module")
def present_package(tmp_path_factory):
    """Presence forced high: every detection frame has chickens (the tiny model's queries)."""
    return forced_presence_package(tmp_path_factory, 4.0, "stream_present")[1]


@pytest.fixture(scope="module")
def absent_package(tmp_path_factory):
    """Presence forced low: every detection frame is "no chicken"."""
    return forced_presence_package(tmp_path_factory, -4.0, "stream_absent")[1]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return barn_video(tmp_path_factory.mktemp("video"), 40)


def read_lines(path):
    text = path.read_text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_a_file_is_processed_frame_for_frame(present_package, video, tmp_path):
    r = tool("--json", "stream", "--package", present_package, "--input", video, "--out", tmp_path / "e.jsonl",
             "--masks", "--video-out", tmp_path / "o.mp4", "--keyframes", tmp_path / "kf", "--keyframe-every", "2",
             "--detect-every", "5", "--threads", "1", "--min-score", "0.3")  # the tiny model's scores are low
    summary = json.loads(r.stdout)
    lines = read_lines(tmp_path / "e.jsonl")
    assert len(lines) == 40 == summary["processed"] == summary["decoded"]
    assert summary["dropped"] == 0 and summary["stopped"] is False
    assert 0 < summary["latency_ms"]["p50"] <= summary["latency_ms"]["p95"]
    assert [line["frame"] for line in lines] == list(range(40))
    assert [line["time"] for line in lines] == pytest.approx([i / FPS for i in range(40)], abs=1e-3)
    assert [line["detection"] for line in lines] == [i % 5 == 0 for i in range(40)]
    assert summary["detection_frames"] == 8
    detected = [line for line in lines if line["detection"]]
    assert all("presence" in line and line["presence"] > 0.9 and line["present"] for line in detected)
    assert any(line["tracks"] for line in lines)
    for line in lines:
        assert line["count"] == len(line["tracks"])
        for t in line["tracks"]:
            assert t["id"] >= 1 and len(t["bbox"]) == 4 and 0 <= t["score"] <= 1
            x, y, w, h = t["bbox"]
            assert 0 <= x and 0 <= y and x + w <= 160.01 and y + h <= 120.01
            # Masks only on detection frames, only for the tracks matched there.
            assert ("segmentation" in t) == (line["detection"] and t["detected"])
            if "segmentation" in t:
                assert t["segmentation"]["size"] == [120, 160]
    ids = {t["id"] for line in lines for t in line["tracks"]}
    assert summary["tracks"] >= len(ids) > 0
    # Between detections the tracks are the previous detection frame's tracks.
    for i, line in enumerate(lines):
        if not line["detection"]:
            assert {t["id"] for t in line["tracks"]} <= {t["id"] for t in lines[i - 1]["tracks"]}
    codec, frames = ffprobe_frames(tmp_path / "o.mp4")
    assert frames == 40 and codec == {"libx264": "h264", "mpeg4": "mpeg4"}[summary["video_codec"]]
    keyframes = sorted(p.name for p in (tmp_path / "kf").iterdir())
    assert keyframes[:2] == ["frame_000000000.jpg", "frame_000000010.jpg"]  # every 2nd detection frame
    assert summary["keyframes"] == len(keyframes) >= 4
    with Image.open(tmp_path / "kf" / keyframes[0]) as im:
        assert im.size == (160, 120)


def test_an_image_sequence_without_ffmpeg_or_video_out(present_package, tmp_path):
    """The generator's JPEG frames as a folder and as a %06d pattern (numbered from 1): read by
    FFmpeg's image2 or, in a build without FFmpeg, by the project's own decoder, with the same
    result: every frame a line at 25 fps (image2's rate), no MP4 needed. Without FFmpeg,
    --video-out is refused with a clear line."""
    img1 = barn_frames(tmp_path, 20)
    for source in (img1, img1 / "%06d.jpg"):
        out = tmp_path / "seq.jsonl"
        r = tool("--json", "stream", "--package", present_package, "--input", source, "--out", out,
                 "--keyframes", tmp_path / "kf", "--detect-every", "5", "--threads", "1", "--hwaccel", "auto")
        summary = json.loads(r.stdout)
        lines = read_lines(out)
        assert len(lines) == 20 == summary["processed"] == summary["decoded"]
        assert [line["frame"] for line in lines] == list(range(20))
        assert [line["time"] for line in lines] == pytest.approx([i / 25 for i in range(20)], abs=1e-3)
        assert [line["detection"] for line in lines] == [i % 5 == 0 for i in range(20)]
        assert "160x120" in summary["source"]
    r = tool("stream", "--package", present_package, "--input", img1, "--out", tmp_path / "v.jsonl", "--video-out",
             tmp_path / "v.mp4", "--threads", "1", check=False)
    if "has no FFmpeg" in r.stdout + r.stderr:
        assert r.returncode == 1 and "--video-out" in r.stdout + r.stderr
        assert not (tmp_path / "v.jsonl").exists()  # refused before the engine loads
    else:
        assert r.returncode == 0, r.stderr


def test_hwaccel_auto_falls_back_to_the_same_results(present_package, video, tmp_path):
    """--hwaccel auto never fails for want of a device: on a machine without one (CI) it says so
    on stderr and decodes in software, so every line is the one --hwaccel none gives."""
    runs = {}
    for hw in ("none", "auto"):
        out = tmp_path / f"{hw}.jsonl"
        r = tool("--json", "stream", "--package", present_package, "--input", video, "--out", out, "--hwaccel", hw,
                 "--detect-every", "5", "--threads", "1", "--min-score", "0.3")
        runs[hw] = (json.loads(r.stdout), r.stderr, out.read_text())
    none, auto = runs["none"], runs["auto"]
    assert "--hwaccel" not in none[1]
    assert none[0]["processed"] == 40 and none[2].count("\n") == 40  # equal lines, not two empty files
    if "decoding in software" in auto[1]:
        assert auto[2] == none[2]
        assert auto[0]["source"] == none[0]["source"]
    else:  # a machine with a decoding device: the same frames, tracks may differ by a pixel
        assert "decoding h264 on" in auto[1] and auto[0]["processed"] == none[0]["processed"] == 40
    bad = tool("stream", "--package", present_package, "--input", video, "--out", tmp_path / "x.jsonl",
               "--hwaccel", "warp9", check=False)
    assert bad.returncode == 2 and "unknown hardware decoder 'warp9'" in bad.stderr + bad.stdout


def test_no_chicken_frames_carry_no_tracks(absent_package, video, tmp_path):
    r = tool("--json", "stream", "--package", absent_package, "--input", video, "--out", tmp_path / "e.jsonl",
             "--detect-hz", "2")
    summary = json.loads(r.stdout)
    lines = read_lines(tmp_path / "e.jsonl")
    assert len(lines) == 40
    assert summary["gated_frames"] == summary["detection_frames"] == 8  # 2 Hz over 4 s of video
    assert all(not line["present"] and line["tracks"] == [] for line in lines)
    assert all(line["presence"] < 0.1 for line in lines if line["detection"])


def test_sigint_leaves_a_playable_mp4_and_whole_jsonl(present_package, tmp_path):
    """Also the live preview: the newest overlay frame as a JPEG from 127.0.0.1 while it runs."""
    long_video = barn_video(tmp_path / "v", 400)
    out = tmp_path / "e.jsonl"
    proc = subprocess.Popen([str(chickenseg_bin()), "--json", "stream", "--package",
                             str(present_package), "--input", str(long_video), "--out", str(out), "--video-out",
                             str(tmp_path / "o.mp4"), "--detect-every", "1", "--threads", "1", "--min-score", "0.3",
                             "--preview", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()
    assert first.startswith("stream: preview at http://127.0.0.1:"), first
    url = first.split(" at ")[1].strip()
    wait_for(lambda: out.exists() and out.read_text().count("\n") >= 2, 120, "the first frames")
    with urllib.request.urlopen(url + "frame.jpg", timeout=10) as reply:
        assert reply.headers["Content-Type"] == "image/jpeg"
        with Image.open(io.BytesIO(reply.read())) as im:
            assert im.size == (160, 120)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.read_text().count("\n") < 5):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["stopped"] is True
    lines = read_lines(out)
    assert 5 <= len(lines) == summary["processed"] < 400
    assert [line["frame"] for line in lines] == list(range(len(lines)))
    assert ffprobe_frames(tmp_path / "o.mp4")[1] == len(lines)
    assert not list(tmp_path.glob(".o.mp4.tmp*"))


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_rtsp_server(port, frames):
    helper = chickenseg_bin().parent / "tests" / "cpp" / "rtsp_server"
    if not helper.exists():
        pytest.fail(f"{helper} not built (needs libgstrtspserver-1.0-dev: scripts/setup installs it)")
    # The generator's frames count from 1 (MOTChallenge's img1/000001.jpg).
    proc = subprocess.Popen([str(helper), str(port), str(frames / "%06d.jpg"), str(FPS), "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    return proc


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_rtsp_camera_restart_is_survived_with_the_gap_reported(present_package, tmp_path):
    frames = barn_frames(tmp_path, 60)
    port = free_port()
    server = start_rtsp_server(port, frames)
    out = tmp_path / "e.jsonl"
    url = f"rtsp://127.0.0.1:{port}/barn"
    stream = subprocess.Popen([str(chickenseg_bin()), "--json", "stream", "--package", str(present_package),
                               "--input", url, "--out", str(out), "--timeout", "3", "--max-reconnects", "20",
                               "--detect-hz", "1", "--threads", "1", "--min-score", "0.3"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = lambda: out.read_text().count("\n") if out.exists() else 0  # noqa: E731
    try:
        wait_for(lambda: lines() >= 10, 120, "the first frames over RTSP")
        server.terminate()  # the camera goes away ...
        server.wait(timeout=10)
        time.sleep(1.0)
        server = start_rtsp_server(port, frames)  # ... and comes back
        wait_for(lambda: '"gap"' in out.read_text(), 120, "a line after the reconnect")
        n = lines()
        wait_for(lambda: lines() >= n + 5, 120, "frames after the reconnect")
    finally:
        stream.send_signal(signal.SIGINT)
        stdout, stderr = stream.communicate(timeout=60)
        server.terminate()
        server.wait(timeout=10)
    assert stream.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["stopped"] is True and summary["reconnects"] >= 1 and summary["gap_seconds"] > 0
    assert f"lost {url}" in stderr and f"reconnected to {url}" in stderr
    records = read_lines(out)
    assert len(records) == summary["processed"]
    assert len(records) + summary["dropped"] <= summary["decoded"]
    gaps = [r for r in records if "gap" in r]
    assert gaps and all(r["gap"] > 0 for r in gaps)
    frames_seen = [r["frame"] for r in records]
    assert frames_seen == sorted(set(frames_seen))  # numbering goes on over the reconnect
    times = [r["time"] for r in records]
    assert times == sorted(times)
    assert sum(r.get("dropped_before", 0) for r in records) <= summary["dropped"]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_memory_stays_flat_over_5000_frames(present_package, tmp_path):
    """SAM 3 video users report memory growing per frame until out of memory: here the resident
    memory after warm-up may grow by less than 5% over 5,000 frames (detection, masks, JSONL,
    MP4 all on)."""
    video = tmp_path / "long.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "200",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video)], check=True)
    out = tmp_path / "e.jsonl"
    proc = subprocess.Popen([str(chickenseg_bin()), "--json", "stream", "--package", str(present_package), "--input",
                             str(video), "--out", str(out), "--masks", "--video-out", str(tmp_path / "o.mp4"),
                             "--detect-every", "10", "--threads", "1", "--min-score", "0.3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples = []  # (frames written, resident KiB)
    while proc.poll() is None:
        try:
            samples.append((out.stat().st_size and out.read_text().count("\n"), rss_kib(proc.pid)))
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(0.5)
    stdout, stderr = proc.communicate()
    assert proc.returncode == 0, stderr
    assert json.loads(stdout)["processed"] == 5000
    warm = [rss for frames, rss in samples if 500 <= frames < 1000 and rss]
    late = [rss for frames, rss in samples if frames >= 4000 and rss]
    assert warm and late, samples
    # Medians of each window: a leak moves the whole late window up, while a single sample can
    # catch a moment's peak (the allocator taking another arena on a loaded machine).
    w, late_median = statistics.median(warm), statistics.median(late)
    print(f"\nresident memory: median {w / 1024:.1f} MiB after warm-up (max {max(warm) / 1024:.1f}), "
          f"median {late_median / 1024:.1f} MiB from frame 4000 (max {max(late) / 1024:.1f})")
    assert late_median < 1.05 * w


def test_early_detection_when_the_tracker_is_unsure(present_package, video, tmp_path):
    common = ["--json", "stream", "--package", present_package, "--input", video, "--out", tmp_path / "e.jsonl",
              "--detect-every", "20", "--threads", "1", "--min-score", "0.3"]
    scheduled = json.loads(tool(*common).stdout)
    assert scheduled["detection_frames"] == 2 and scheduled["early_detections"] == 0
    early = json.loads(tool(*common, "--early-detect", "0.3").stdout)
    lines = read_lines(tmp_path / "e.jsonl")
    assert early["early_detections"] > 0
    assert early["detection_frames"] == sum(line["detection"] for line in lines) > 2
    assert any(line["detection"] and line["frame"] % 20 for line in lines)  # off the schedule


def test_rtsp_over_udp(present_package, tmp_path):
    """A live source runs at its own pace: the served frames must outlast the engine's loading."""
    frames = barn_frames(tmp_path, 100)
    port = free_port()
    server = start_rtsp_server(port, frames)
    out = tmp_path / "e.jsonl"
    stream = subprocess.Popen([str(chickenseg_bin()), "--json", "stream", "--package", str(present_package),
                               "--input", f"rtsp://127.0.0.1:{port}/barn", "--rtsp-transport", "udp",
                               "--out", str(out), "--timeout", "3", "--max-reconnects", "0", "--threads", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: stream.poll() is not None or (out.exists() and out.read_text().count("\n") >= 5), 120,
                 "frames over RTSP/UDP")
    finally:
        stream.send_signal(signal.SIGINT)
        stdout, stderr = stream.communicate(timeout=60)
        server.terminate()
        server.wait(timeout=10)
    assert stream.returncode == 0, stderr
    assert "rtsp" in json.loads(stdout)["source"]
    assert len(read_lines(out)) >= 5
