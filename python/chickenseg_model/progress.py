"""Progress on stderr, as the C++ tool shows it: a bar redrawn in place on a terminal, a
line every few seconds otherwise (logs, CI), nothing for work shorter than half a second."""
import sys
import time


class Progress:
    def __init__(self, label: str, total: int):
        self.label, self.total = label, total
        self.start = self.last = time.time()
        self.tty = sys.stderr.isatty()
        self.done = 0

    def update(self, done: int) -> None:
        self.done = done
        now = time.time()
        if now - self.last >= (0.1 if self.tty else 5.0):
            self.last = now
            self._draw(final=False)

    def finish(self) -> None:
        if time.time() - self.start > 0.5:
            self._draw(final=True)

    def _draw(self, final: bool) -> None:
        secs = time.time() - self.start
        if self.tty:
            end = "\n" if final else ""
            print(f"\r{self.label}: {self.done}/{self.total} ({secs:.1f}s)", end=end, file=sys.stderr, flush=True)
        else:
            print(f"{self.label}: {self.done}/{self.total} ({secs:.1f}s)", file=sys.stderr, flush=True)
