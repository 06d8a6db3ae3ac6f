"""nbgrader settings for grading this course: the one copy, kept with the course.

`make grade` (grading/grade.py) copies this file into the course folder as nbgrader_config.py
every time it runs, so every nbgrader command run in that folder, by `make grade` or by hand
(`nbgrader autograde mnist`, the formgrader), uses these settings. Edit them here, not in the copy.
See docs/instructors.md, "Autograding with nbgrader".
"""

import html
import json
import re

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader import utils
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    Execute,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)
from traitlets import Integer, List

c = get_config()  # noqa: F821 (nbgrader's config loader provides get_config)

c.CourseDirectory.course_id = "mnist-keras-course"

# Seconds one cell may run while nbgrader executes a submission (autograde, validate); after that
# the kernel is interrupted and the cell's tests score zero. nbgrader's default, 30 s, cuts off the
# training cells: notebook 02's take about a minute and notebook 04's up to about 2 minutes each on
# 2 CPU cores. 1800 s (30 minutes) leaves a wide margin for a slower or busy machine (several
# graders sharing a server, a laptop on battery) and for a student who trains for a few more
# epochs, and it still ends an endless loop in a student's answer within half an hour.
c.Execute.timeout = 1800

# Output: a submission can print or display any amount (50 MB of text, thousands of images). Two
# limits keep that out of the grader's memory, the graded notebook and the feedback page:
# - LimitedExecute, nbgrader's Execute (the preprocessor that runs a submission), keeps at most
#   received_per_cell bytes of what one cell sends and received_per_notebook in all, and drops the rest
#   as it arrives;
# - LimitOutputSize, nbgrader's LimitOutput (at most max_lines lines of text output per cell and
#   max_traceback lines per traceback), also cuts each text to max_text_chars characters and keeps at
#   most max_cell_bytes of outputs per cell and max_notebook_bytes per notebook. The course's own
#   outputs are far below these: at most about 140 kB in a cell, 400 kB in a notebook.
CUT_NOTE = "[grading: output cut off here: {why}]"
COUNTED_MESSAGES = {"stream", "display_data", "execute_result", "update_display_data", "error", "comm_open", "comm_msg"}


def message_bytes(msg) -> int:
    """About how many bytes of output a kernel message carries."""
    content, size = msg.get("content") or {}, 0
    for key in ("text", "evalue", "data", "metadata", "traceback"):
        value = content.get(key)
        if value:
            size += len(value) if isinstance(value, str) else len(json.dumps(value, default=str))
    return size + sum(len(buffer) for buffer in msg.get("buffers") or [])


def note(why: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stderr", text=CUT_NOTE.format(why=why) + "\n")


class LimitedExecute(Execute):
    """nbgrader's Execute, which drops a cell's output beyond received_per_cell bytes (and all output
    beyond received_per_notebook bytes) as it arrives, leaving a note where it cut."""

    received_per_cell = Integer(16 * 2**20, help="bytes of output kept as one cell runs").tag(config=True)
    received_per_notebook = Integer(64 * 2**20, help="bytes of output kept as a notebook runs").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._received, self._cut = {}, set()
        return super().preprocess(nb, resources, km)

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] in COUNTED_MESSAGES:
            size = message_bytes(msg)
            self._received[cell_index] = self._received.get(cell_index, 0) + size
            over = self._received[cell_index] > self.received_per_cell
            over = over or sum(self._received.values()) > self.received_per_notebook
            if over and msg["msg_type"] != "error":
                if cell_index not in self._cut:
                    self._cut.add(cell_index)
                    cell.outputs.append(note("this cell printed or displayed more than the grader keeps"))
                return None
        return super().process_message(msg, cell, cell_index)


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + "\n" + CUT_NOTE.format(why=f"{len(text) - limit} more characters")


class LimitOutputSize(LimitOutput):
    """nbgrader's LimitOutput (lines per cell, lines per traceback), plus limits in characters and bytes."""

    max_text_chars = Integer(100_000, help="characters of one text output or traceback line").tag(config=True)
    max_cell_bytes = Integer(2 * 2**20, help="bytes of outputs kept per cell").tag(config=True)
    max_notebook_bytes = Integer(8 * 2**20, help="bytes of outputs kept per notebook").tag(config=True)

    def preprocess(self, nb, resources):
        self._kept = 0
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type != "code":
            return cell, resources
        kept, size = [], 0
        for index, output in enumerate(cell.outputs):
            if "text" in output:
                output.text = shorten(output.text, self.max_text_chars)
            if output.output_type == "error":
                output.evalue = shorten(output.evalue, self.max_text_chars)
                output.traceback = [shorten(line, self.max_text_chars) for line in output.traceback]
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    output.data[mime] = shorten(value, self.max_text_chars)
            bytes_ = len(json.dumps(output))
            if size + bytes_ > self.max_cell_bytes or self._kept + bytes_ > self.max_notebook_bytes:
                kept.append(note(f"{len(cell.outputs) - index} more outputs, over the size the grader keeps"))
                break
            kept.append(output)
            size += bytes_
            self._kept += bytes_
        cell.outputs = kept
        return cell, resources


# nbgrader's autograde steps, with LimitedExecute and LimitOutputSize in place of Execute and LimitOutput
c.Autograde.autograde_preprocessors = [
    LimitedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutputSize,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Feedback for students: nbgrader's autograded notebooks hold the hidden tests (autograde puts
# them back to run them), and generate_feedback renders them as they are. ClearHiddenTests, the
# preprocessor that generate_assignment uses to write the student version, removes them from the
# feedback as well; the subclass below also drops the traceback lines that quote them, and takes
# them out of every output: a student's code that runs after a check can read the check's code,
# hidden tests included, from the kernel's history (In, _ih), and print it.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
HIDDEN_NOTE = "(this cell's code is not shown here: it holds hidden tests)"
HIDDEN_MARK = "[hidden test]"
SECRET_CHARS = 8  # shorter lines of a hidden test ("else:", ")") give nothing away


class ClearHiddenTestsFromFeedback(ClearHiddenTests):
    """nbgrader's ClearHiddenTests for the autograder test cells (whose code autograde took from the
    instructor's version), plus:

    - an error raised in a cell that has hidden tests keeps its message (e.g. "CheckFailed: ...")
      but loses every traceback part that quotes the cell's code;
    - in every cell's outputs, each line of a hidden test (SECRET_CHARS characters or more) becomes
      HIDDEN_MARK, as it is and as it looks HTML-escaped or inside a repr() or a JSON string. A hidden
      test copied any other way (encoded, reversed, a few characters at a time) is not recognised.
    """

    # nbconvert's HTML exporter sets display_data_priority for all preprocessors: accept it quietly
    display_data_priority = List([]).tag(config=True)

    def preprocess(self, nb, resources):
        lines = {self.begin_test_delimeter, self.end_test_delimeter}
        for cell in nb.cells:
            if utils.is_grade(cell) and not utils.is_solution(cell):
                lines.update(self._hidden_lines(cell.source))
        forms = set()
        for line in (line for line in lines if len(line) >= SECRET_CHARS):
            forms |= {line, html.escape(line), html.escape(line, quote=False), repr(line)[1:-1], json.dumps(line)[1:-1]}
        self._secrets = sorted(forms, key=len, reverse=True)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if utils.is_grade(cell) and not utils.is_solution(cell):
            secret = self._hidden_lines(cell.source)
            for output in cell.get("outputs", []) if secret else []:
                if output.get("output_type") == "error":
                    parts = []
                    for part in output.traceback:
                        if any(line in ANSI_ESCAPE.sub("", part) for line in secret):
                            part = HIDDEN_NOTE  # a frame that quotes the cell's code, hidden tests included
                        if not (part == HIDDEN_NOTE and parts and parts[-1] == HIDDEN_NOTE):
                            parts.append(part)
                    output.traceback = parts
        for output in cell.get("outputs", []):
            self._scrub(output)
        if not utils.is_grade(cell) or utils.is_solution(cell):
            return cell, resources  # the student's own cells are shown as they wrote them
        return super().preprocess_cell(cell, resources, cell_index)

    def _clean(self, text):
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, HIDDEN_MARK)
        return text

    def _scrub(self, output):
        """HIDDEN_MARK in place of every hidden test line in one output."""
        if isinstance(output.get("text"), str):
            output.text = self._clean(output.text)
        if output.get("output_type") == "error":
            output.evalue = self._clean(output.evalue)
            parts = []
            for part in output.traceback:
                plain = ANSI_ESCAPE.sub("", part)  # colours may split a line of code
                parts.append(part if self._clean(plain) == plain else self._clean(plain))
            output.traceback = parts
        data = output.get("data", {})
        for mime, value in list(data.items()):
            if isinstance(value, str):
                data[mime] = self._clean(value)
            elif self._clean(json.dumps(value)) != json.dumps(value):
                del data[mime]  # structured data (application/json) that quotes a hidden test

    def _hidden_lines(self, source):
        """The non-blank lines of the cell's hidden test regions, delimiters included."""
        lines, inside = [], False
        for line in source.splitlines():
            inside = inside or self.begin_test_delimeter in line
            if inside and line.strip():
                lines.append(line.strip())
            inside = inside and self.end_test_delimeter not in line
        return lines


c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTestsFromFeedback, CSSHTMLHeaderPreprocessor]
